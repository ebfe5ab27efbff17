"""The transitions of a dedicated group that every other module uses: stop, start, detach, release.

Each one settles pay-as-you-go billing first, so a stopped group costs nothing and a machine
stops costing the moment it leaves a group, and each tells the deployment engine (`signals`).
"""
from datetime import datetime

from django.db import transaction

from resourcegroups import billing, clock, signals
from resourcegroups.models import ChargeType, Machine, ResourceGroup

READY_MESSAGE = "Resource is ready"


@transaction.atomic
def stop(group: ResourceGroup, reason: str, message: str, now: datetime | None = None) -> None:
    now = now or clock.now()
    billing.meter_group(group, now)
    group.status = ResourceGroup.Status.STOPPED
    group.stop_reason = reason
    group.stopped_at = now
    group.message = message
    group.save()
    transaction.on_commit(lambda: signals.group_stopped.send(sender=ResourceGroup, group=group, reason=reason))


@transaction.atomic
def start(group: ResourceGroup, now: datetime | None = None) -> None:
    now = now or clock.now()
    group.machines.filter(charge_type=ChargeType.POSTPAID).update(billed_until=now)
    group.status = ResourceGroup.Status.READY
    group.stop_reason = ResourceGroup.StopReason.NONE
    group.stopped_at = None
    group.message = READY_MESSAGE
    group.save()
    transaction.on_commit(lambda: signals.group_started.send(sender=ResourceGroup, group=group))


def _detach(group: ResourceGroup, machines: list[Machine], now: datetime) -> None:
    billing.meter_machines(group, machines, now)
    Machine.objects.filter(pk__in=[m.pk for m in machines]).update(
        group=None, charge_type="", temporary=False, assigned_at=None, billed_until=None,
    )


@transaction.atomic
def detach(group: ResourceGroup, machines: list[Machine], now: datetime | None = None) -> None:
    """Give machines of a group back to the free inventory."""
    _detach(group, machines, now or clock.now())
    transaction.on_commit(
        lambda: signals.machines_removed.send(sender=ResourceGroup, group=group, machines=machines)
    )


def release(group: ResourceGroup, now: datetime | None = None) -> None:
    """Delete the group for good: its services (through `group_released`), machines back to free."""
    signals.group_released.send(sender=ResourceGroup, group=group)
    with transaction.atomic():
        _detach(group, list(group.machines.all()), now or clock.now())
        group.delete()
