"""Converging each service's instances towards its desired state.

`reconcile(service_id)` is idempotent: it reads desired state and the instances' reported
state, decides what to start and stop, records that in the database, and sends the work to
the agents once the transaction commits. It runs after every change and on a beat tick, so a
restart of any process loses nothing. Rolling updates surge by one instance: a new-version
instance must be Running before an old one is drained.
"""
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from console.celery import node_queue
from resourcegroups.models import Machine, ResourceGroup
from services import events, notifications, scheduler
from services.agent_tasks import start_instance, stop_instance
from services.models import Instance, Service
from services.spec import resources, runtime_model_config

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECONDS = 600
EMBEDDED_STORE_PREFIX = "oss://eas-model-"
SOURCE_URL_TTL_SECONDS = 3600
GROUP_STOPPED_PREFIX = "stopped with its group: "


def reconcile(service_id: int) -> None:
    with transaction.atomic():
        service = Service.objects.select_for_update().filter(pk=service_id).first()
        if service is None:
            return
        _release_lost_instances(service)
        live = list(service.instances.filter(status__in=Instance.LIVE).select_related("machine"))
        group_stopped = _group_stopped_reason(service)
        wanted = service.running and service.status != Service.Status.FAILED and not group_stopped
        target = service.desired_instances if wanted else 0
        current = [i for i in live if i.version == service.current_version]
        old = [i for i in live if i.version != service.current_version]
        running_current = [i for i in current if i.status == Instance.Status.RUNNING]

        to_stop = []
        if len(current) > target:
            to_stop += _least_valuable(current, len(current) - target)
        if old:
            # Old instances leave as new ones become Running (or all at once when stopping).
            excess_old = len(old) - max(0, target - len(running_current))
            to_stop += _least_valuable(old, max(0, excess_old))
        surge = 1 if old else 0
        still_old = len(old) - len([i for i in to_stop if i in old])
        to_create = max(0, min(target - len(current), target + surge - len(current) - still_old))
        for _ in range(to_create):
            current.append(_new_instance(service))

        pending = [i for i in current if i.machine_id is None and i not in to_stop]
        placed = scheduler.place_instances(pending, list(_machines_of(service)))
        for instance in placed:
            instance.status = Instance.Status.SCHEDULED
            instance.save(update_fields=["machine", "host", "status", "updated"])
            transaction.on_commit(lambda i=instance: _send_start(i))
        for instance in to_stop:
            drain_instance(instance)
        _update_status(service, group_stopped)


def _group_machines(service: Service):
    """Machines of the service's group (its dedicated group, else the region's public one)."""
    if service.resource_group_id:
        return Machine.objects.filter(group__group_id=service.resource_group_id, group__account=service.account)
    return Machine.objects.filter(group__kind=ResourceGroup.Kind.PUBLIC, group__region=service.region)


def _machines_of(service: Service):
    """Machines an instance of the service may be placed on now."""
    return _group_machines(service).filter(status=Machine.Status.READY, group__status=ResourceGroup.Status.READY)


def _group_stopped_reason(service: Service) -> str:
    """Why the service's group cannot run anything now ('' when it can)."""
    if not service.resource_group_id:
        return ""
    group = ResourceGroup.objects.filter(group_id=service.resource_group_id, account=service.account).first()
    if group is None:
        return f"resource group {service.resource_group_id} no longer exists"
    if not group.is_running:
        return f"resource group {group.group_id} is {group.status}" + (
            f" ({group.stop_reason})" if group.stop_reason else "")
    return ""


def _least_valuable(instances: list[Instance], count: int) -> list[Instance]:
    """Which instances to give up first: unplaced, then not yet running, then the newest."""
    rank = {Instance.Status.PENDING: 0, Instance.Status.SCHEDULED: 1, Instance.Status.RESTARTING: 2,
            Instance.Status.STARTING: 3, Instance.Status.RUNNING: 4}
    ordered = sorted(instances, key=lambda i: (rank[i.status], -i.pk))
    return ordered[:count]


def _new_instance(service: Service) -> Instance:
    res = resources(service.description)
    return Instance.objects.create(
        service=service, version=service.current_version,
        name=f"{service.name}-{secrets.token_hex(4)}",
        cpu=res.cpu, memory_mb=res.memory_mb, gpu=res.gpu,
    )


def drain_instance(instance: Instance) -> None:
    """Take an instance out of rotation, then have its agent stop it."""
    if instance.machine is None or instance.machine.status != Machine.Status.READY:
        instance.status = Instance.Status.TERMINATED
        instance.save(update_fields=["status", "updated"])
        return
    instance.status = Instance.Status.TERMINATING
    instance.save(update_fields=["status", "updated"])
    service_name = instance.service.name
    queue = node_queue(instance.machine.name)
    transaction.on_commit(lambda: notifications.routing_changed(service_name))
    transaction.on_commit(lambda: _send_stop(instance.pk, queue))


def _send_start(instance: Instance) -> None:
    start_instance.apply_async(args=[instance_spec(instance)], queue=node_queue(instance.machine.name))


def _send_stop(instance_id: int, queue: str) -> None:
    # The gateway drops the instance on the routing notification; give it a moment first.
    stop_instance.apply_async(args=[instance_id], queue=queue, countdown=settings.EAS_DRAIN_SECONDS)


def instance_spec(instance: Instance) -> dict:
    """Everything an agent needs to run an instance, without access to the database."""
    version = instance.service.versions.get(number=instance.version)
    description = version.description
    return {
        "instance_id": instance.pk,
        "service_id": instance.service_id,
        "name": instance.name,
        "service_name": instance.service.name,
        "machine": instance.machine.name,
        "description": description,
        "model_config": runtime_model_config(description),
        "sources": {kind: source_for_agent(description.get(field)) for kind, field in
                    (("model", "model_path"), ("processor", "processor_path"),
                     ("warm_up", "warm_up_data_path"))},
        "pinned": version.pinned_sources,
        "gpu": instance.gpu,
        "token": instance.service.token,
        "startup_timeout": STARTUP_TIMEOUT_SECONDS,
    }


def source_for_agent(uri: str | None) -> str | None:
    """Objects of the embedded store reach remote agents as short-lived signed URLs."""
    if uri and uri.startswith(EMBEDDED_STORE_PREFIX):
        from services.storage.presign import presign

        return presign(uri, ttl=SOURCE_URL_TTL_SECONDS)
    return uri


def _release_lost_instances(service: Service) -> None:
    """Instances on machines that stopped heartbeating are gone, and those on machines that left
    the group must go; new ones replace them."""
    placed = service.instances.filter(status__in=Instance.LIVE, machine__isnull=False).select_related("machine")
    lost = placed.exclude(machine__status=Machine.Status.READY)
    for instance in lost:
        events.record_event(service, f"Instance [{instance.name}] lost with machine "
                                     f"[{instance.machine.name}]; replacing it", level="WARN")
        instance.status = Instance.Status.TERMINATED
        instance.message = f"machine {instance.machine.name} is NotReady"
        instance.save(update_fields=["status", "message", "updated"])
    for instance in placed.filter(machine__status=Machine.Status.READY).exclude(
            machine__in=_group_machines(service)):
        events.record_event(service, f"Machine [{instance.machine.name}] left the resource group; "
                                     f"moving instance [{instance.name}]", level="WARN")
        drain_instance(instance)
        transaction.on_commit(lambda: notifications.routing_changed(service.name))


def _update_status(service: Service, group_stopped: str = "") -> None:
    live = list(service.instances.filter(status__in=Instance.LIVE))
    current = [i for i in live if i.version == service.current_version]
    running = [i for i in current if i.status == Instance.Status.RUNNING]
    pending = [i for i in current if i.status != Instance.Status.RUNNING]
    old = [i for i in live if i.version != service.current_version]
    previous = service.status
    if service.status == Service.Status.FAILED:
        status = Service.Status.FAILED
    elif not service.running or group_stopped:
        status = Service.Status.STOPPING if live else Service.Status.STOPPED
    elif old:
        status = Service.Status.UPDATING
    elif len(running) == service.desired_instances:
        status = Service.Status.RUNNING
    elif any(i.machine_id is None for i in pending):
        status = Service.Status.WAITING
    elif previous in (Service.Status.STOPPED, Service.Status.STOPPING):
        status = Service.Status.STARTING
    else:
        status = previous if previous != Service.Status.WAITING else Service.Status.CREATING
    progress = f"{len(current)}/{len(pending)}/{len(running)}"
    if status != previous or progress != service.progress:
        if status == Service.Status.RUNNING:
            events.record_event(service, "Service is running")
        elif status == Service.Status.STOPPED:
            events.record_event(service, "Service is stopped")
        elif status != Service.Status.FAILED:
            events.record_event(service, f"Waiting [Total: {len(current)}, Pending: {len(pending)}, "
                                         f"Running: {len(running)}]")
    if status != previous:
        transaction.on_commit(lambda: notifications.routing_changed(service.name))
    if group_stopped:
        service.message = f"{GROUP_STOPPED_PREFIX}{group_stopped}"
    elif service.message.startswith(GROUP_STOPPED_PREFIX):
        service.message = ""
    service.status = status
    service.progress = progress
    service.save(update_fields=["status", "progress", "message", "updated"])


def apply_report(instance_id: int, status: str, *, port: int | None = None,
                 restarts: int | None = None, message: str = "", pins: dict | None = None) -> None:
    """Record what an agent observed about one of its instances, then reconcile its service."""
    with transaction.atomic():
        instance = (Instance.objects.select_for_update(of=("self",)).select_related("service", "machine")
                    .filter(pk=instance_id).first())
        if instance is None or instance.status in (Instance.Status.TERMINATED, Instance.Status.FAILED):
            return  # a late report about an instance already given up
        if instance.status == Instance.Status.TERMINATING and status != Instance.Status.TERMINATED:
            return  # it is draining; only its end matters now
        if status == instance.status and (restarts is None or restarts == instance.restarts):
            return  # a re-sent report: nothing new
        was_routed = instance.status == Instance.Status.RUNNING
        if status == Instance.Status.RUNNING and not was_routed and instance.running_since is None:
            instance.running_since = timezone.now()
        instance.status = status
        instance.message = message[:4000]
        if port is not None:
            instance.port = port
        if restarts is not None:
            instance.restarts = restarts
        instance.save()
        service = instance.service
        if pins:
            _pin_version_content(service, instance.version, pins)
        if status == Instance.Status.RESTARTING:
            events.record_event(service, f"Instance [{instance.name}] {message}", level="WARN")
        elif status == Instance.Status.FAILED:
            _handle_failure(service, instance)
        if was_routed or status == Instance.Status.RUNNING:
            transaction.on_commit(lambda: notifications.routing_changed(service.name))
    reconcile(service.pk)


def _pin_version_content(service: Service, number: int, pins: dict) -> None:
    """The first content a version runs is the content it keeps (see services.agent)."""
    version = service.versions.select_for_update().get(number=number)
    missing = {kind: pin for kind, pin in pins.items() if kind not in version.pinned_sources}
    if missing:
        version.pinned_sources = {**version.pinned_sources, **missing}
        version.save(update_fields=["pinned_sources"])


def _handle_failure(service: Service, instance: Instance) -> None:
    """A new version that cannot start is rolled back; a first deployment fails visibly."""
    events.record_event(service, f"Instance [{instance.name}] failed: {instance.message}", level="FAILED")
    if instance.version != service.current_version:
        return
    serving_old = service.instances.filter(status=Instance.Status.RUNNING).exclude(
        version=service.current_version).exists()
    serving_current = service.instances.filter(
        status=Instance.Status.RUNNING, version=service.current_version).exists()
    if serving_old and service.previous_version:
        failed_version = service.current_version
        service.current_version = service.previous_version
        service.previous_version = None
        service.message = (f"version {failed_version} failed to start and was rolled back to "
                           f"version {service.current_version}: {instance.message[:500]}")
        service.save(update_fields=["current_version", "previous_version", "message", "updated"])
        events.record_event(service, f"Version {failed_version} failed to start; rolled back to "
                                     f"version {service.current_version}", level="FAILED")
    elif not serving_current:
        service.status = Service.Status.FAILED
        service.message = f"instance failed to start: {instance.message[:1000]}"
        service.save(update_fields=["status", "message", "updated"])
        events.record_event(service, "Service failed to start", level="FAILED")
