"""Registration and liveness of node agents, as seen by the control plane."""
import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from resourcegroups.models import Machine

logger = logging.getLogger(__name__)


class JoinRefused(Exception):
    """An agent presented a wrong join token."""


def register_machine(*, join_token: str, name: str, ip: str, cpu: int, memory_mb: int,
                     gpu: int = 0, gpu_type: str = "", agent_version: str = "") -> Machine:
    """Add a machine to the inventory, or refresh the spec of one that joins again."""
    if not hmac.compare_digest(join_token.encode(), settings.EAS_JOIN_TOKEN.encode()):
        logger.warning("machine %s presented a wrong join token", name)
        raise JoinRefused(f"machine {name}: wrong join token")
    machine, created = Machine.objects.update_or_create(
        name=name,
        defaults={
            "ip": ip, "cpu": cpu, "memory_mb": memory_mb, "gpu": gpu, "gpu_type": gpu_type,
            "agent_version": agent_version, "status": Machine.Status.READY,
            "last_heartbeat": timezone.now(),
        },
    )
    logger.info("machine %s %s (%s cores, %s MB, %s GPU)", name,
                "joined" if created else "re-joined", cpu, memory_mb, gpu)
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
