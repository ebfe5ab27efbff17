"""Orders for dedicated groups: buying, scaling up, temporary scale-out and renewal (R2, R4).

Placing an order checks it and, for prepaid orders, pays it up front. The Celery task
`resourcegroups.process_order` on the control queue then takes machines of the ordered type from
the free inventory of the group's region. When there are not enough, the order fails with the
reason, and a paid order is refunded by a refund order (the seeds' "系统自动创建退款订单").
Renewals need no machines and complete at once.
"""
import calendar
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from console.iam.errors import Conflict, InvalidParameter
from resourcegroups import billing, catalog, clock, groups, state
from resourcegroups.models import Bill, ChargeType, Machine, Order, Price, ResourceGroup, new_group_id

PREPAID_MONTHS = (*range(1, 12), 12, 36)
MAX_PREPAID_MACHINES = 1000
MAX_POSTPAID_MACHINES = 100
MAX_MACHINES_PER_CHANGE = 100


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def months_of(period: int, unit: str = "Month") -> int:
    """A purchase period as months: 1-11 months, 1 year or 3 years."""
    unit = (unit or "Month").capitalize()
    if unit == "Month" and isinstance(period, int) and 1 <= period <= 11:
        return period
    if unit == "Year" and period in (1, 3):
        return 12 * period
    raise InvalidParameter("The purchase period must be 1-11 months, 1 year or 3 years.",
                           code="InvalidParameter.Period")


def check_machine_type(name: str, charge_type: str) -> dict:
    spec = catalog.machine_type(name or "")
    if spec is None:
        raise InvalidParameter(f"Unknown machine type {name!r}; DescribeMachineSpec lists the types.",
                               code="InvalidParameter.EcsInstanceType")
    if charge_type not in spec["charge_types"]:
        raise InvalidParameter(f"{name} can only be bought {spec['charge_types'][0]}.",
                               code="InvalidParameter.EcsInstanceType")
    return spec


def check_count(count, low: int, high: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
        raise InvalidParameter(f"EcsInstanceCount must be {low}-{high}.", code="InvalidParameter.EcsInstanceCount")
    return count


def free_machines(region: str, machine_type: str):
    """Ready machines of the free inventory that can be sold as `machine_type`, oldest first."""
    spec = catalog.machine_type(machine_type)
    low, high = catalog.memory_range_mb(spec)
    by_spec = Q(machine_type="", cpu=spec["cpu"], gpu=spec["gpu"], memory_mb__gte=low, memory_mb__lte=high)
    if spec["gpu"]:
        by_spec &= Q(gpu_type="") | Q(gpu_type__icontains=spec["gpu_model"].split()[-1])
    return Machine.objects.filter(
        Q(machine_type=machine_type) | by_spec, group__isnull=True, region=region,
        status=Machine.Status.READY,
    ).order_by("registered", "pk")


def stock(region: str, machine_type: str) -> int:
    return free_machines(region, machine_type).count()


def _enqueue(order: Order) -> None:
    from resourcegroups.tasks import process_order  # the tasks module imports this one

    transaction.on_commit(lambda: process_order.delay(order.pk))


def _place(group: ResourceGroup, kind: str, charge_type: str, count: int, *, months: int = 0,
           machine_months: Decimal = Decimal("0")) -> Order:
    """Record the order, pay for `machine_months` of prepaid machines, and queue its processing."""
    order = Order.objects.create(
        account=group.account, group=group, resource_id=group.group_id, region=group.region, kind=kind,
        charge_type=charge_type, machine_type=group.machine_type, count=count, months=months,
    )
    if machine_months:
        price = billing.unit_price(Price.Kind.PREPAID_MONTH, group.machine_type)
        order.amount = billing.money(price * machine_months)
        order.save(update_fields=["amount"])
        billing.pay(group.account, order.amount, kind=Bill.Kind.PREPAID,
                    quantity=machine_months.quantize(Decimal("0.0001")), unit="machine-month",
                    unit_price=price, group=group, order=order, machine_type=group.machine_type)
    _enqueue(order)
    return order


@transaction.atomic
def buy(account, *, region: str, charge_type: str, machine_type: str, count: int, months: int = 1,
        auto_renew: bool = False, name: str = "") -> Order:
    """CreateResource: a new dedicated group in `Creating` (named `name` or its id), filled by the
    order's processing."""
    groups.check_region(region)
    name = groups.clean_name(name) if name else ""
    if charge_type not in ChargeType.values:
        raise InvalidParameter("ChargeType must be PrePaid or PostPaid.", code="InvalidParameter.ChargeType")
    check_machine_type(machine_type, charge_type)
    prepaid = charge_type == ChargeType.PREPAID
    check_count(count, 1, MAX_PREPAID_MACHINES if prepaid else MAX_POSTPAID_MACHINES)
    if prepaid and months not in PREPAID_MONTHS:
        raise InvalidParameter("The purchase period must be 1-11 months, 1 year or 3 years.",
                               code="InvalidParameter.Period")
    if not prepaid:
        billing.ensure_not_in_arrears(account)
    group_id = new_group_id()
    group = ResourceGroup.objects.create(
        group_id=group_id, name=name or group_id, account=account, region=region, charge_type=charge_type,
        machine_type=machine_type, auto_renew=prepaid and auto_renew, renew_months=months if prepaid else 1,
        message="Waiting for machines",
    )
    return _place(group, Order.Kind.CREATE, charge_type, count, months=months if prepaid else 0,
                  machine_months=Decimal(count * months) if prepaid else Decimal("0"))


def _require_dedicated(group: ResourceGroup) -> None:
    if group.is_public:
        raise InvalidParameter("The public resource group cannot be changed.", code="InvalidParameter.ResourceId")


@transaction.atomic
def add_machines(group: ResourceGroup, *, count: int, charge_type: str) -> Order:
    """CreateResourceInstances: scale a group up, or add temporary machines to a prepaid group.

    Prepaid formal machines expire with the group and are charged for the time left; temporary
    machines of a prepaid group and all machines of a postpaid group are billed by the hour.
    """
    _require_dedicated(group)
    check_count(count, 1, MAX_MACHINES_PER_CHANGE)
    now = clock.now()
    if group.is_prepaid:
        if group.status != ResourceGroup.Status.READY:
            raise Conflict(f"The resource group is {group.status}; machines can be added to a ready group only.",
                           code="ResourceNotReady")
        if charge_type == ChargeType.POSTPAID:
            billing.ensure_not_in_arrears(group.account)
            return _place(group, Order.Kind.TEMPORARY, ChargeType.POSTPAID, count)
        formal = group.machines.filter(temporary=False).count()
        check_count(formal + count, 1, MAX_PREPAID_MACHINES)
        return _place(group, Order.Kind.SCALE_UP, ChargeType.PREPAID, count,
                      machine_months=count * billing.remaining_months(group, now))
    if charge_type != ChargeType.POSTPAID:
        raise InvalidParameter("A postpaid resource group takes PostPaid machines only.",
                               code="InvalidParameter.ChargeType")
    stopped_for_zero = (group.status == ResourceGroup.Status.STOPPED
                        and group.stop_reason == ResourceGroup.StopReason.SCALED_TO_ZERO)
    if group.status != ResourceGroup.Status.READY and not stopped_for_zero:
        raise Conflict(f"The resource group is {group.status}; it cannot be scaled now.", code="ResourceNotReady")
    billing.ensure_not_in_arrears(group.account)
    check_count(group.machines.count() + count, 1, MAX_POSTPAID_MACHINES)
    return _place(group, Order.Kind.SCALE_UP, ChargeType.POSTPAID, count)


@transaction.atomic
def renew(group: ResourceGroup, months: int, now: datetime | None = None) -> Order:
    """Extend a prepaid group by `months`; an expired group renewed in its 15 days runs again."""
    _require_dedicated(group)
    now = now or clock.now()
    if not group.is_prepaid:
        raise InvalidParameter("Only prepaid resource groups are renewed.", code="InvalidParameter.ChargeType")
    if months not in PREPAID_MONTHS:
        raise InvalidParameter("The renewal period must be 1-11 months, 1 year or 3 years.",
                               code="InvalidParameter.Period")
    if group.status not in (ResourceGroup.Status.READY, ResourceGroup.Status.STOPPED):
        raise Conflict(f"The resource group is {group.status}; it cannot be renewed.", code="ResourceNotReady")
    formal = group.machines.filter(temporary=False).count()
    order = Order.objects.create(
        account=group.account, group=group, resource_id=group.group_id, region=group.region,
        kind=Order.Kind.RENEW, charge_type=ChargeType.PREPAID, machine_type=group.machine_type,
        count=formal, months=months,
    )
    price = billing.unit_price(Price.Kind.PREPAID_MONTH, group.machine_type)
    order.amount = billing.money(price * formal * months)
    billing.pay(group.account, order.amount, kind=Bill.Kind.PREPAID, quantity=Decimal(formal * months),
                unit="machine-month", unit_price=price, group=group, order=order, machine_type=group.machine_type)
    group.expires_at = add_months(group.expires_at, months)
    group.save(update_fields=["expires_at", "updated"])
    if group.stop_reason == ResourceGroup.StopReason.EXPIRED and group.expires_at > now:
        state.start(group, now)
    order.status, order.finished = Order.Status.COMPLETED, now
    order.save()
    return order


def _can_grow(group: ResourceGroup) -> bool:
    return group.status == ResourceGroup.Status.READY or (
        not group.is_prepaid and group.stop_reason == ResourceGroup.StopReason.SCALED_TO_ZERO
    )


def _fail(order: Order, group: ResourceGroup | None, reason: str, now: datetime) -> Order:
    """Close a failed order; what it paid comes back through a refund order."""
    order.reason, order.finished = reason, now
    if order.amount > 0:
        order.status = Order.Status.REFUNDED
        refund = Order.objects.create(
            account=order.account, group=group, resource_id=order.resource_id, region=order.region,
            kind=Order.Kind.REFUND, status=Order.Status.COMPLETED, charge_type=order.charge_type,
            machine_type=order.machine_type, count=order.count, months=order.months, amount=-order.amount,
            reason=f"Refund of order {order.order_id}: {reason}", refund_of=order, finished=now,
        )
        billing.refund(order, refund)
        reason += f" The payment of {order.amount} was refunded (refund order {refund.order_id})."
    else:
        order.status = Order.Status.FAILED
    order.save()
    if group is not None and order.kind == Order.Kind.CREATE:
        group.status, group.message = ResourceGroup.Status.CREATE_FAILED, reason
        group.save(update_fields=["status", "message", "updated"])
    return order


def process(order_pk: int) -> Order | None:
    """Take machines for a pending order from the free inventory, or fail (and refund) it."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_pk).first()
        if order is None or order.status != Order.Status.PENDING:
            return order
        now = clock.now()
        group = ResourceGroup.objects.select_for_update().filter(pk=order.group_id).first()
        if group is None:
            return _fail(order, None, "The resource group was deleted before the order was processed.", now)
        if order.kind != Order.Kind.CREATE and not _can_grow(group):
            return _fail(order, group, f"The resource group is {group.status}.", now)
        machines = list(free_machines(group.region, group.machine_type)
                        .select_for_update(skip_locked=True)[:order.count])
        if len(machines) < order.count:
            return _fail(order, group, (
                f"Insufficient resources in {group.region}: {order.count} × {group.machine_type} requested, "
                f"{len(machines)} available."
            ), now)
        temporary = order.kind == Order.Kind.TEMPORARY
        charge_type = ChargeType.POSTPAID if temporary else group.charge_type
        Machine.objects.filter(pk__in=[m.pk for m in machines]).update(
            group=group, charge_type=charge_type, temporary=temporary, assigned_at=now,
            billed_until=now if charge_type == ChargeType.POSTPAID else None,
        )
        order.instance_ids = [m.instance_id for m in machines]
        order.status, order.finished = Order.Status.COMPLETED, now
        order.save()
        if order.kind == Order.Kind.CREATE:
            if group.is_prepaid:
                group.expires_at = add_months(now, order.months)
            group.status, group.message = ResourceGroup.Status.READY, state.READY_MESSAGE
            group.save()
        elif group.status == ResourceGroup.Status.STOPPED:
            state.start(group, now)
    return order
