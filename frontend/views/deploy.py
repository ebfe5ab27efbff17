"""The deployment wizard (seed 6.1 控制台上传部署): two panels, or a whole service.json.

The description the answers make is checked with services.spec first so that each error shows
next to its field; services.operations.create_service then creates the service exactly as the
API does (and checks everything again).
"""
import json

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from console.iam.authz import authorize
from console.iam.errors import ApiError
from frontend.forms import DeployForm, JsonDeployForm
from frontend.views.common import console_page
from resourcegroups import groups as group_domain
from services import operations, spec
from services.models import Service
from services.storage import repository
from services.storage.errors import StorageError


def _created(request, service: Service):
    messages.success(request, f"Service {service.name} is being deployed; its events follow below.")
    return redirect(reverse("services:detail", args=[service.region, service.name]))


def _create(request, principal, form, raw, *, associate: bool):
    """Create the service, or put the domain's complaint on the form; returns a response or None."""
    try:
        service = operations.create_service(principal.account, raw, associate=associate)
    except ApiError as exc:
        request.eas_error_code = exc.code
        form.add_error(None, exc.message)
        return None
    return _created(request, service)


@console_page
def wizard(request, principal):
    authorize(principal, "CreateService")
    account = principal.account
    form = DeployForm(request.POST or None, initial={"origin": request.GET.get("origin", ""), "resource_group": request.GET.get("group", "")},
                      groups=group_domain.dedicated_groups(account).order_by("name"),
                      services=Service.objects.filter(account=account, origin_name="").order_by("name"))
    if request.method == "POST" and form.is_valid():
        description = form.description()
        try:
            spec.parse(description, region=settings.EAS_REGION)
        except spec.SpecError as error:
            form.add_spec_errors(error.errors)
        else:
            response = _create(request, principal, form, description,
                               associate=form.cleaned_data["mode"] == "bluegreen")
            if response:
                return response
    return render(request, "frontend/deploy/wizard.html", {"form": form},
                  status=400 if form.errors else 200)


@console_page
def json_mode(request, principal):
    authorize(principal, "CreateService")
    form = JsonDeployForm(request.POST or None, initial={"service_json": example(principal.account)})
    spec_errors = {}
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["service_json"]
        try:
            spec.parse(raw, region=settings.EAS_REGION)
        except spec.SpecError as error:
            spec_errors = error.errors
        else:
            response = _create(request, principal, form, raw, associate=form.cleaned_data["associate"])
            if response:
                return response
    return render(request, "frontend/deploy/json.html", {"form": form, "spec_errors": spec_errors},
                  status=400 if form.errors or spec_errors else 200)


@console_page
def objects(request, principal):
    """One folder of the tenant's model repository, for the object-store picker."""
    authorize(principal, "ListModels")
    prefix = request.GET.get("prefix", "")
    try:
        listing = repository.list_objects(principal.account, prefix)
    except StorageError as exc:
        return render(request, "frontend/deploy/_objects.html", {"error": str(exc), "prefix": prefix})
    parent = prefix.rstrip("/").rpartition("/")[0]
    return render(request, "frontend/deploy/_objects.html", {
        "listing": listing, "prefix": prefix, "parent": f"{parent}/" if parent else "",
    })


def example(account) -> str:
    """A starting point for JSON mode: a PMML model from the tenant's own repository."""
    return json.dumps({
        "name": "my_service",
        "processor": "pmml",
        "model_path": repository.uri_of(account, "uploads/model.pmml"),
        "metadata": {"instance": 1, "quota": 1},
    }, indent=2)
