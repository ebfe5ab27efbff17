"""One service: its detail page and the dialogs of the service table (seed 6.1, 8.1).

Every write calls services.operations, the same functions the REST API and eascmd use.
"""
import json

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.iam.errors import InvalidParameter
from frontend import tables
from frontend.forms import AddVersionForm, ScaleForm, ScheduleForm, TrafficForm
from frontend.views.common import console_page, find_service, finished, render_dialog, service_permissions
from services import endpoints, operations, schedules
from services.models import Instance, RedeploySchedule, Service

TABS = ("overview", "instances", "versions", "schedule", "configuration")


def _detail_url(service: Service) -> str:
    return reverse("services:detail", args=[service.region, service.name])


@console_page
def detail(request, principal, region, name):
    service = find_service(principal, region, name, "DescribeService")
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "overview"
    row = tables.service_rows(principal, [service])[0]
    context = {"service": service, "row": row, "can": row.can, "tab": tab,
               "status_class": row.status_class}
    if tab == "overview":
        context.update(endpoints=_endpoints(service),
                       associated=Service.objects.filter(account=principal.account, origin_name=service.name))
    elif tab == "instances":
        context.update(_instance_context(service))
    elif tab == "versions":
        context["versions"] = service.versions.order_by("-number")
    elif tab == "schedule":
        schedule = RedeploySchedule.objects.filter(service=service).first()
        context.update(schedule=schedule, schedule_form=ScheduleForm(initial=_schedule_initial(schedule)))
    elif tab == "configuration":
        context["configuration"] = json.dumps(service.description, indent=2, ensure_ascii=False)
    return render(request, "frontend/services/detail.html", context)


def _schedule_initial(schedule: RedeploySchedule | None) -> dict:
    if schedule is None:
        return {}
    return {"cron": schedule.cron, "model_path": schedule.model_path, "check_body": schedule.check_body,
            "expect_status": schedule.expect_status, "expect_contains": schedule.expect_contains,
            "enabled": schedule.enabled}


@require_POST
@console_page
def schedule(request, principal, region, name):
    """Set, change or remove (`delete` in the form) the service's scheduled redeploy."""
    service = find_service(principal, region, name, "UpdateServiceSchedule")
    url = _detail_url(service) + "?tab=schedule"
    if "delete" in request.POST:
        RedeploySchedule.objects.filter(service=service).delete()
        return finished(request, f"The scheduled redeploy of {service.name} was removed.", url)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            schedules.set_schedule(service, **form.cleaned_data)
        except InvalidParameter as exc:
            form.add_error(None, exc.message)
        else:
            return finished(request, f"{service.name} is redeployed on schedule {form.cleaned_data['cron']}.", url)
    row = tables.service_rows(principal, [service])[0]
    return render(request, "frontend/services/detail.html", {
        "service": service, "row": row, "can": row.can, "tab": "schedule", "status_class": row.status_class,
        "schedule": RedeploySchedule.objects.filter(service=service).first(), "schedule_form": form,
    }, status=400)


@console_page
def instances(request, principal, region, name):
    """The instance table alone, polled by the detail page while instances change."""
    service = find_service(principal, region, name, "ListServiceInstances")
    return render(request, "frontend/services/_instances.html", {
        "service": service, "can": service_permissions(principal, service), **_instance_context(service)})


def _instance_context(service: Service) -> dict:
    """Live instances, and whether the table should keep refreshing itself."""
    live = list(service.instances.filter(status__in=Instance.LIVE).select_related("machine")
                .order_by("created", "id"))
    settling = service.status in tables.TRANSITIONAL or any(i.status != Instance.Status.RUNNING for i in live)
    return {"instances": live, "refresh_instances": settling}


def _endpoints(service: Service) -> dict:
    return {"internet": endpoints.internet_endpoint(service), "intranet": endpoints.intranet_endpoint(service)}


@console_page
def call_info(request, principal, region, name):
    """调用信息: public and VPC endpoints and the token (masked until revealed)."""
    service = find_service(principal, region, name, "DescribeServiceEndpoints")
    return render_dialog(request, "frontend/dialogs/call_info.html", {
        "service": service, "endpoints": _endpoints(service),
        "masked_token": service.token[:4] + "•" * 24 + service.token[-4:] if service.token else "",
    })


@console_page
def scale(request, principal, region, name):
    """扩缩容: change only metadata.instance, so running instances stay (S5)."""
    service = find_service(principal, region, name, "DescribeService")
    form = ScaleForm(request.POST or None, initial={"instances": service.desired_instances})
    if request.method == "POST":
        service = find_service(principal, region, name, "UpdateService")
        if form.is_valid():
            count = form.cleaned_data["instances"]
            operations.update_service(service, {"metadata": {"instance": count}})
            return finished(request, f"Scaling {service.name} to {count} instances.", _detail_url(service))
    return render_dialog(request, "frontend/dialogs/scale.html", {"service": service, "form": form},
                         status=400 if form.errors else 200)


@console_page
def traffic(request, principal, region, name):
    """切换流量: how the original endpoint's traffic splits between it and this associated service."""
    service = find_service(principal, region, name, "DescribeService")
    if not service.origin_name:
        raise InvalidParameter(f"Service {service.name} is not an associated service; create one with a "
                               "blue-green deployment first.")
    current = 100 - service.traffic_weight if service.released else 100
    form = TrafficForm(request.POST or None, initial={"current": current})
    if request.method == "POST":
        service = find_service(principal, region, name, "ReleaseService")
        if form.is_valid():
            weight = form.associated_weight
            operations.release_service(service, weight)
            return finished(request, f"{service.origin_name} keeps {100 - weight}% of its traffic; "
                                     f"{service.name} gets {weight}%.", reverse("overview"))
    return render_dialog(request, "frontend/dialogs/traffic.html", {"service": service, "form": form},
                         status=400 if form.errors else 200)


@console_page
def add_version(request, principal, region, name):
    """增加版本: a new model (and processor) rolled out as the next version (S6)."""
    service = find_service(principal, region, name, "DescribeService")
    description = service.description
    form = AddVersionForm(request.POST or None, initial={
        "processor": description.get("processor", "pmml"), "model_source": "upload"})
    status = 200
    if request.method == "POST":
        service = find_service(principal, region, name, "UpdateService")
        if form.is_valid():
            try:
                service = operations.update_service(service, form.changes())
            except InvalidParameter as exc:
                form.add_error(None, exc.message)
                request.eas_error_code, status = exc.code, exc.status
            else:
                return finished(request, f"{service.name} is rolling out version {service.current_version}.",
                                _detail_url(service))
        else:
            status = 400
    return render_dialog(request, "frontend/dialogs/add_version.html", {"service": service, "form": form}, status)


@require_POST
@console_page
def switch_version(request, principal, region, name):
    """The current-version dropdown: roll out any stored version (S7)."""
    service = find_service(principal, region, name, "UpdateServiceVersion")
    try:
        number = int(request.POST.get("version", ""))
    except ValueError:
        raise InvalidParameter("Choose a version number.") from None
    operations.switch_version(service, number)
    return finished(request, f"{service.name} is switching to version {number}.", _detail_url(service))


def _lifecycle(operation: str, perform, message: str):
    @require_POST
    @console_page
    def view(request, principal, region, name):
        service = perform(find_service(principal, region, name, operation))
        return finished(request, message.format(name=service.name), _detail_url(service))
    view.__doc__ = f"{operation} through services.operations."
    return view


start = _lifecycle("StartService", operations.start_service, "{name} is starting.")
stop = _lifecycle("StopService", operations.stop_service, "{name} is stopping.")
restart = _lifecycle("RestartService", operations.restart_service, "{name} is restarting its instances.")


@console_page
def delete(request, principal, region, name):
    """A confirmation dialog, then delete (S8)."""
    if request.method != "POST":
        service = find_service(principal, region, name, "DescribeService")
        return render_dialog(request, "frontend/dialogs/delete_service.html", {"service": service})
    service = find_service(principal, region, name, "DeleteService")
    if request.POST.get("confirm_name") != service.name:
        return render_dialog(request, "frontend/dialogs/delete_service.html", {
            "service": service, "error": "Type the service name to confirm."}, status=400)
    operations.delete_service(service)
    return finished(request, f"{name} was deleted.", reverse("overview"), go_back=False)
