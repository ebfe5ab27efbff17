"""Taking machines out of dedicated groups: postpaid scale-down and stop by scaling to zero, and
the release of a prepaid group's temporary machines (formal prepaid machines stay until expiry).
"""
from django.db import transaction

from console.iam.errors import InvalidParameter, NotFound
from resourcegroups import clock, orders, state
from resourcegroups.models import ChargeType, Machine, Order, ResourceGroup

SCALED_TO_ZERO_MESSAGE = "The resource group has 0 machines and is stopped; scale it up to use it again."


@transaction.atomic
def remove_machines(group: ResourceGroup, instance_ids: list[str]) -> Order:
    """DeleteResourceInstances: release the named machines; a postpaid group left empty stops."""
    if group.is_public:
        raise InvalidParameter("The public resource group cannot be changed.", code="InvalidParameter.ResourceId")
    instance_ids = list(dict.fromkeys(i for i in instance_ids if i))
    if not instance_ids:
        raise InvalidParameter("InstanceList names no instance.", code="InvalidParameter.InstanceList")
    machines = list(group.machines.select_for_update().filter(instance_id__in=instance_ids))
    missing = sorted(set(instance_ids) - {m.instance_id for m in machines})
    if missing:
        raise NotFound(f"Instance {', '.join(missing)} is not in resource group {group.group_id}.",
                       code="InstanceNotFound")
    if group.is_prepaid and any(not m.temporary for m in machines):
        raise InvalidParameter("Only temporary (pay-as-you-go) machines can be released from a prepaid "
                               "resource group.", code="Forbidden.PrePaidInstance")
    now = clock.now()
    order = Order.objects.create(
        account=group.account, group=group, resource_id=group.group_id, region=group.region,
        kind=Order.Kind.SCALE_DOWN, status=Order.Status.COMPLETED, charge_type=ChargeType.POSTPAID,
        machine_type=group.machine_type, count=len(machines), instance_ids=instance_ids, finished=now,
    )
    state.detach(group, machines, now)
    if not group.is_prepaid and group.status == ResourceGroup.Status.READY and not group.machines.exists():
        state.stop(group, ResourceGroup.StopReason.SCALED_TO_ZERO, SCALED_TO_ZERO_MESSAGE, now)
    return order


def scale_postpaid(group: ResourceGroup, count: int) -> Order:
    """扩容 / 缩容 / 停用 of a postpaid group to `count` machines; 0 stops it.

    Scaling down releases NotReady machines first, then the most recently added.
    """
    if group.is_public or group.is_prepaid:
        raise InvalidParameter("Only postpaid resource groups are scaled to a machine count.",
                               code="InvalidParameter.ChargeType")
    orders.check_count(count, 0, orders.MAX_POSTPAID_MACHINES)
    machines = list(group.machines.all())
    if count > len(machines):
        return orders.add_machines(group, count=count - len(machines), charge_type=ChargeType.POSTPAID)
    if count == len(machines):
        raise InvalidParameter(f"The resource group already has {count} machines.",
                               code="InvalidParameter.EcsInstanceCount")
    machines.sort(key=lambda m: (m.status == Machine.Status.READY, -m.assigned_at.timestamp(), -m.pk))
    surplus = machines[:len(machines) - count]
    return remove_machines(group, [m.instance_id for m in surplus])
