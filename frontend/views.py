"""Console pages."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from console.iam.accounts import account_of
from resourcegroups.models import Machine
from services.models import Service


@login_required
def overview(request):
    account = account_of(request.user)
    services = Service.objects.filter(account=account) if account else Service.objects.none()
    return render(request, "frontend/overview.html", {
        "account": account,
        "services": services,
        "machines_ready": Machine.objects.filter(status=Machine.Status.READY).count(),
        "machines_total": Machine.objects.count(),
    })
