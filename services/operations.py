"""What users can do to a service. Each operation changes desired state, records an event
and asks the reconciler to converge; none of them starts or stops a process itself."""
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from console.celery import app as celery_app
from console.iam.errors import Conflict, InvalidParameter
from resourcegroups import groups, policy
from services import events, notifications, reconciler, spec
from services.models import Instance, MetricPoint, Service, ServiceVersion, UsagePoint
from services.storage import repository
from services.storage.errors import StorageError


def _invalid(error: spec.SpecError) -> InvalidParameter:
    return InvalidParameter(f"Invalid service description: {error}")


def _reconcile_after_commit(service: Service) -> None:
    # By name: the tasks module imports this one.
    transaction.on_commit(lambda: celery_app.send_task("services.reconcile_service", args=[service.pk]))


def parse_description(raw) -> dict:
    try:
        return spec.parse(raw, region=settings.EAS_REGION)
    except spec.SpecError as error:
        raise _invalid(error) from None


@transaction.atomic
def create_service(account, raw, *, associate: bool = False) -> Service:
    """Create a service (or, for blue-green, an associated service of an existing one)."""
    description = parse_description(raw)
    origin = None
    if associate:
        origin = Service.objects.filter(account=account, region=settings.EAS_REGION,
                                        name=description["name"], origin_name="").first()
        if origin is None:
            raise InvalidParameter(f"Service {description['name']} to associate with does not exist.")
        description["name"] = f"{origin.name}_{secrets.token_hex(4)}"
    check_placement_rules(account, description)
    token = description.get("token") or (origin.token if origin else spec.generate_token())
    try:
        with transaction.atomic():
            service = Service.objects.create(
                account=account, region=settings.EAS_REGION, name=description["name"], token=token,
                resource_group_id=description["metadata"].get("resource", ""),
                desired_instances=description["metadata"]["instance"],
                origin_name=origin.name if origin else "",
            )
    except IntegrityError:
        raise Conflict(f"Service {description['name']} already exists in region {settings.EAS_REGION}.",
                       code="ServiceAlreadyExists") from None
    ServiceVersion.objects.create(service=service, number=1, description=description)
    events.record_event(service, f"Service [{service.name}] in region [{service.region}] is being created")
    events.record_event(service, "Creating api gateway")
    _reconcile_after_commit(service)
    return service


def check_placement_rules(account, description: dict) -> None:
    """Sources in the model store are the caller's own; the resource group is the caller's (or
    the public one) and can run this service: custom processors and GPUs only on dedicated
    groups (S13), public sizes in Quota 1-100 (R1)."""
    for field in ("model_path", "processor_path", "warm_up_data_path"):
        if description.get(field):
            try:
                repository.check_source_access(account, description[field])
            except StorageError as error:
                raise InvalidParameter(f"{field}: {error}") from None
    group = groups.resolve_group(account, settings.EAS_REGION, description["metadata"].get("resource"))
    res = spec.resources(description)
    kind = policy.CUSTOM_PROCESSOR if spec.is_custom(description) else description["processor"]
    policy.check_service_allowed(group, kind, gpu=res.gpu)
    if group.is_public:
        policy.quota_resources(res.quota)


def _roll_out(service: Service, number: int, description: dict, reason: str) -> None:
    """Make `number` the version the reconciler converges to, one instance at a time."""
    service.previous_version = service.current_version
    service.current_version = number
    service.desired_instances = description["metadata"]["instance"]
    if service.status == Service.Status.FAILED:
        service.status = Service.Status.UPDATING
    service.message = ""
    service.save()
    events.record_event(service, f"{reason}: version {number}")


def _add_version(service: Service, description: dict, reason: str) -> int:
    number = service.latest_version + 1
    ServiceVersion.objects.create(service=service, number=number, description=description)
    service.latest_version = number
    _roll_out(service, number, description, reason)
    return number


def _changed_description(service: Service, raw, *, replace: bool) -> dict:
    """The validated description `raw` turns the current one into (merged unless `replace`)."""
    changes = spec.load_description(raw)
    candidate = dict(changes) if replace else spec.merge(service.description, changes)
    candidate.setdefault("name", service.name)
    if candidate["name"] != service.name:
        raise InvalidParameter("name: a service cannot be renamed")
    new = parse_description(candidate)
    check_placement_rules(service.account, new)
    return new


@transaction.atomic
def update_service(service: Service, raw, *, replace: bool = False) -> Service:
    """Merge (default) or replace the description. Only `metadata.instance` changed → scale."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    current = service.description
    new = _changed_description(service, raw, replace=replace)
    if not spec.needs_new_version(current, new):
        if new["metadata"]["instance"] != service.desired_instances:
            events.record_event(service, f"Scaling from {service.desired_instances} to "
                                         f"{new['metadata']['instance']} instances")
        ServiceVersion.objects.filter(service=service, number=service.current_version) \
            .update(description=new)
        service.desired_instances = new["metadata"]["instance"]
        service.save(update_fields=["desired_instances", "updated"])
    else:
        _add_version(service, new, "Updating service")
    _reconcile_after_commit(service)
    return service


@transaction.atomic
def add_version(service: Service, raw, reason: str) -> int:
    """Always a new version, even when the description is unchanged: the content behind a
    model path may have changed (scheduled redeploys rely on this)."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    number = _add_version(service, _changed_description(service, raw, replace=False), reason)
    _reconcile_after_commit(service)
    return number


@transaction.atomic
def switch_version(service: Service, number: int) -> Service:
    """Roll out any stored version (a rollback when it is an earlier one)."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    version = service.versions.filter(number=number).first()
    if version is None:
        raise InvalidParameter(f"Version {number} does not exist; versions are 1 to {service.latest_version}.")
    if number != service.current_version:
        _roll_out(service, number, version.description, "Switching")
    _reconcile_after_commit(service)
    return service


def _set_running(service: Service, running: bool, message: str) -> Service:
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=service.pk)
        service.running = running
        if running and service.status == Service.Status.FAILED:
            service.status = Service.Status.STARTING
        service.save(update_fields=["running", "status", "updated"])
        events.record_event(service, message)
        _reconcile_after_commit(service)
    return service


def stop_service(service: Service) -> Service:
    return _set_running(service, False, f"Service [{service.name}] is stopping")


def start_service(service: Service) -> Service:
    return _set_running(service, True, f"Service [{service.name}] is starting")


def restart_service(service: Service) -> Service:
    """Replace every instance, one at a time, by re-rolling the current description."""
    add_version(service, {}, "Restarting service")
    return service


@transaction.atomic
def release_service(service: Service, weight: int) -> Service:
    """Send `weight` percent of the original endpoint's traffic to an associated service."""
    if not service.origin_name:
        raise InvalidParameter(f"Service {service.name} is not an associated service; "
                               "only services created for blue-green release can be released.")
    if not 0 <= weight <= 100:
        raise InvalidParameter(f"Weight: must be between 0 and 100, got {weight}.")
    service.traffic_weight = weight
    service.released = True
    service.save(update_fields=["traffic_weight", "released", "updated"])
    events.record_event(service, f"Service [{service.name}] is weighted to {weight}% now")
    transaction.on_commit(lambda: notifications.routing_changed(service.origin_name))
    return service


@transaction.atomic
def delete_service(service: Service) -> None:
    """Stop every instance and forget the service; its events and monitoring history go with it."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    for instance in service.instances.filter(status__in=Instance.LIVE).select_related("machine"):
        reconciler.drain_instance(instance)
    name = service.name
    service.delete()
    if not Service.objects.filter(region=service.region, origin_name=name, released=True).exists():
        # The name may be taken again, by anyone: its charts must not show this service's history.
        MetricPoint.objects.filter(service=name).delete()
        UsagePoint.objects.filter(service=name).delete()
    transaction.on_commit(lambda: notifications.routing_changed(name))
