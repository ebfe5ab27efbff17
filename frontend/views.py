"""Console pages."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from console.iam.authz import is_allowed, principal_for_user
from console.iam.errors import Unauthorized
from resourcegroups.models import Machine
from services.models import Service


@login_required
def overview(request):
    try:
        principal = principal_for_user(request.user)
    except Unauthorized:  # a Django user outside any account (e.g. made with createsuperuser)
        principal = None
    account = principal.account if principal else None
    if principal and is_allowed(principal, "ListServices"):
        services = Service.objects.filter(account=account)
    else:
        services = Service.objects.none()
    return render(request, "frontend/overview.html", {
        "account": account,
        "services": services,
        "machines_ready": Machine.objects.filter(status=Machine.Status.READY).count(),
        "machines_total": Machine.objects.count(),
    })
