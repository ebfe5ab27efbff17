"""Registration and liveness of node agents, and the operator's placement of machines.

A machine joining for the first time goes where the agent asks (`--pool`). By default a machine
labelled with a catalog type (`--machine-type`) joins the free inventory, sellable to dedicated
groups, and any other machine, such as the local machine of `make up`, joins its region's public
group; the operator moves machines later (`manage.py assignmachine`, Django admin). A machine that
joins again keeps its place.
"""
import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from resourcegroups import catalog, groups, state
from resourcegroups.models import Machine

PUBLIC = "public"
FREE = "free"
POOLS = (PUBLIC, FREE)

logger = logging.getLogger(__name__)


class JoinRefused(Exception):
    """A machine may not join: a wrong join token, or an unknown region, machine type or pool."""


def register_machine(*, join_token: str, name: str, ip: str, cpu: int, memory_mb: int,
                     gpu: int = 0, gpu_type: str = "", agent_version: str = "", machine_type: str = "",
                     region: str = "", pool: str = "") -> Machine:
    """Add a machine to the inventory, or refresh the spec of one that joins again."""
    if not hmac.compare_digest(join_token.encode(), settings.EAS_JOIN_TOKEN.encode()):
        logger.warning("machine %s presented a wrong join token", name)
        raise JoinRefused(f"machine {name}: wrong join token")
    region = region or settings.EAS_REGION
    if catalog.region(region) is None:
        raise JoinRefused(f"machine {name}: unknown region {region}")
    if machine_type and catalog.machine_type(machine_type) is None:
        raise JoinRefused(f"machine {name}: unknown machine type {machine_type}")
    if pool and pool not in POOLS:
        raise JoinRefused(f"machine {name}: pool must be one of {', '.join(POOLS)}")
    defaults = {
        "ip": ip, "cpu": cpu, "memory_mb": memory_mb, "gpu": gpu, "gpu_type": gpu_type, "region": region,
        "agent_version": agent_version, "status": Machine.Status.READY, "last_heartbeat": timezone.now(),
    }
    if machine_type:
        defaults["machine_type"] = machine_type
    with transaction.atomic():
        machine, created = Machine.objects.update_or_create(name=name, defaults=defaults)
        if created and (pool or (FREE if machine_type else PUBLIC)) == PUBLIC:
            machine.group = groups.public_group(region)
            machine.save(update_fields=["group"])
    logger.info("machine %s %s (%s cores, %s MB, %s GPU) in %s", name, "joined" if created else "re-joined",
                cpu, memory_mb, gpu, machine.group or "the free inventory")
    return machine


def assign_machine(name: str, pool: str) -> Machine:
    """The operator puts a machine in its region's public group or back in the free inventory."""
    machine = Machine.objects.select_related("group").filter(name=name).first()
    if machine is None:
        raise ValueError(f"no machine named {name}")
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}")
    if machine.group is not None and not machine.group.is_public:
        raise ValueError(f"machine {name} belongs to dedicated group {machine.group.group_id}; it returns "
                         "to the free inventory when the group releases it")
    if pool == PUBLIC and machine.group is None:
        machine.group = groups.public_group(machine.region)
        machine.save(update_fields=["group"])
    elif pool == FREE and machine.group is not None:
        state.detach(machine.group, [machine])
        machine.refresh_from_db()
    return machine


def record_heartbeat(*, name: str, cpu_used: float, memory_used_mb: int,
                     gpu_utilization: float = 0.0) -> bool:
    """Store a heartbeat; a machine that was NotReady becomes Ready again. False if unknown."""
    updated = Machine.objects.filter(name=name).update(
        cpu_used=cpu_used, memory_used_mb=memory_used_mb, gpu_utilization=gpu_utilization,
        last_heartbeat=timezone.now(), status=Machine.Status.READY,
    )
    return bool(updated)


def mark_unresponsive_machines() -> list[str]:
    """Machines whose heartbeats stopped for a few periods are marked NotReady."""
    deadline = timezone.now() - timedelta(
        seconds=settings.EAS_HEARTBEAT_SECONDS * settings.EAS_MISSED_HEARTBEATS
    )
    stale = list(
        Machine.objects.filter(status=Machine.Status.READY, last_heartbeat__lt=deadline)
        .values_list("name", flat=True)
    )
    if stale:
        Machine.objects.filter(name__in=stale).update(status=Machine.Status.NOT_READY)
        logger.warning("machines NotReady after missed heartbeats: %s", ", ".join(stale))
    return stale
