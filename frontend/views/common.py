"""What every console page shares: the signed-in principal, error pages and dialog responses.

Pages render on the server; htmx loads dialogs into the page's one `<dialog>` and posts their
forms. Without JavaScript the same URLs work as plain pages and form posts.
"""
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from console.iam.authz import authorize, is_allowed, principal_of, service_arn
from console.iam.errors import ApiError, NotFound
from services.models import Service

# What a page may offer on a service, by the EAS operation behind each button.
SERVICE_ACTIONS = {
    "describe": "DescribeService",
    "update": "UpdateService",
    "switch_version": "UpdateServiceVersion",
    "start": "StartService",
    "stop": "StopService",
    "restart": "RestartService",
    "delete": "DeleteService",
    "release": "ReleaseService",
    "debug": "InvokeService",
    "logs": "DescribeServiceLog",
    "monitor": "DescribeServiceMonitoring",
    "endpoints": "DescribeServiceEndpoints",
    "schedule": "UpdateServiceSchedule",
}

# The same for a dedicated resource group.
GROUP_ACTIONS = {
    "describe": "DescribeResource",
    "scale": "CreateResourceInstances",
    "pay": "PayResourceOrder",
    "renew": "RenewResource",
    "update": "UpdateResource",
    "delete": "DeleteResource",
    "release_machines": "DeleteResourceInstances",
    "machines": "ListResourceInstances",
    "services": "ListResourceServices",
    "orders": "ListResourceOrders",
    "dlink": "UpdateResourceDLink",
}


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def console_page(view):
    """Pass the principal to the view; render ApiErrors as an error page with their status."""
    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, principal_of(request), *args, **kwargs)
        except ApiError as exc:
            return error_response(request, exc)
    return wrapper


def error_response(request, exc: ApiError):
    request.eas_error_code = exc.code
    template = "frontend/dialogs/error.html" if is_htmx(request) else "frontend/error.html"
    return render(request, template, {"error": exc}, status=exc.status)


def find_service(principal, region: str, name: str, operation: str) -> Service:
    """The caller's service (another tenant's reads as missing), authorized for `operation`."""
    service = Service.objects.filter(account=principal.account, region=region, name=name).first()
    if service is None:
        raise NotFound(f"Service {name} not found in region {region}.", code="InvalidService.NotFound")
    authorize(principal, operation, service_arn(principal.account, service.name, service.region))
    return service


def service_permissions(principal, service) -> dict[str, bool]:
    """Which of SERVICE_ACTIONS the principal may do on `service` (to show or disable buttons)."""
    if principal.is_main_account:
        return dict.fromkeys(SERVICE_ACTIONS, True)
    arn = service_arn(principal.account, service.name, service.region)
    return {key: is_allowed(principal, operation, arn) for key, operation in SERVICE_ACTIONS.items()}


def group_permissions(principal, group) -> dict[str, bool]:
    """Which of GROUP_ACTIONS the principal may do on `group`."""
    if principal.is_main_account:
        return dict.fromkeys(GROUP_ACTIONS, True)
    return {key: is_allowed(principal, operation, group.arn) for key, operation in GROUP_ACTIONS.items()}


def render_dialog(request, template: str, context: dict, status: int = 200):
    """A dialog fragment for htmx, or the same dialog as a page of its own."""
    if status >= 400 and not getattr(request, "eas_error_code", None):
        request.eas_error_code = "InvalidParameter"
    if is_htmx(request):
        return render(request, template, context, status=status)
    return render(request, "frontend/dialog_page.html", {**context, "dialog_template": template}, status=status)


def return_url(request, default: str) -> str:
    """Where to go after a dialog's write: the page it was opened from, when that is ours."""
    for candidate in (request.POST.get("next"), request.headers.get("HX-Current-URL")):
        if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}):
            return candidate
    return default


def finished(request, message: str, default: str, *, go_back: bool = True):
    """After a successful write: show `message` on the page the user came from (or `default`)."""
    messages.success(request, message)
    url = return_url(request, default) if go_back else default
    if is_htmx(request):
        return HttpResponse(headers={"HX-Redirect": url})
    return redirect(url)
