"""What things cost and who pays: prices, wallets, bills, and metering of pay-as-you-go use.

Prepaid orders are paid up front (price per machine-month × machines × months). Pay-as-you-go
machines (postpaid groups and temporary machines) are billed per machine-hour by a beat task and
whenever they leave a group; public-group services are billed per Quota-hour through
`record_quota_usage`. Every charge debits the account's wallet; see `Wallet` for arrears.
"""
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from console.iam.errors import ApiError, InvalidParameter
from resourcegroups import clock
from resourcegroups.models import Bill, ChargeType, Machine, Price, ResourceGroup, Wallet

CENT = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)
# Pro-rata charges (scaling up a prepaid group) count a month as 30 days.
MONTH = timedelta(days=30)
MIN_QUOTA, MAX_QUOTA = 1, 100


class InsufficientBalance(ApiError):
    status = 400
    code = "InsufficientBalance"
    message = "The account balance does not cover this order."


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_price(kind: str, machine_type: str = "") -> Decimal:
    price = Price.objects.filter(kind=kind, machine_type=machine_type).first()
    if price is None:
        raise InvalidParameter(f"No {kind} price is set for {machine_type or 'Quota'}; the operator must set one.",
                               code="InvalidParameter.Price")
    return price.unit_price


def wallet_of(account, *, lock: bool = False) -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(account=account)
    if lock:
        wallet = Wallet.objects.select_for_update().get(pk=wallet.pk)
    return wallet


def prepaid_amount(machine_type: str, count: int, months: Decimal) -> Decimal:
    return money(unit_price(Price.Kind.PREPAID_MONTH, machine_type) * count * months)


def remaining_months(group: ResourceGroup, now: datetime) -> Decimal:
    """The share of a month left until the group expires (scale-up is charged for that long)."""
    left = max(group.expires_at - now, timedelta(0))
    return Decimal(left.total_seconds()) / Decimal(MONTH.total_seconds())


def _note_arrears(wallet: Wallet) -> None:
    """Arrears start with the first charge that passes the overdraft limit and end when settled."""
    if not wallet.in_arrears:
        wallet.arrears_since = None
    elif wallet.arrears_since is None:
        wallet.arrears_since = clock.now()


@transaction.atomic
def charge(account, amount: Decimal, *, kind: str, quantity: Decimal, unit: str, unit_price: Decimal,
           group: ResourceGroup | None = None, order=None, service_id: str = "", machine_type: str = "",
           start: datetime | None = None, end: datetime | None = None) -> Bill:
    """Debit the wallet and record the bill; falling below the overdraft limit starts arrears."""
    wallet = wallet_of(account, lock=True)
    wallet.balance -= amount
    _note_arrears(wallet)
    wallet.save()
    return Bill.objects.create(
        account=account, group=group, resource_id=group.group_id if group else "", order=order,
        service_id=service_id, kind=kind, machine_type=machine_type, quantity=quantity, unit=unit,
        unit_price=unit_price, amount=amount, period_start=start, period_end=end,
    )


@transaction.atomic
def pay(account, amount: Decimal, **bill) -> Bill:
    """An up-front payment; refused when it would put the account in arrears."""
    wallet = wallet_of(account, lock=True)
    if not wallet.covers(amount):
        raise InsufficientBalance(f"The order costs {amount} but the balance is {wallet.balance}; "
                                  "top up the account first.")
    return charge(account, amount, **bill)


def ensure_not_in_arrears(account) -> None:
    """New pay-as-you-go resources are refused while the account owes money."""
    if wallet_of(account).in_arrears:
        raise InsufficientBalance("The account is in arrears; settle the outstanding bills first.",
                                  code="Account.Arrearage")


@transaction.atomic
def refund(order, refund_order) -> Bill:
    """Return what `order` paid, recorded against the refund order."""
    wallet = wallet_of(order.account, lock=True)
    wallet.balance += order.amount
    _note_arrears(wallet)
    wallet.save()
    return Bill.objects.create(
        account=order.account, group=order.group, resource_id=order.resource_id, order=refund_order,
        kind=Bill.Kind.REFUND, machine_type=order.machine_type, quantity=Decimal(order.count),
        unit="machine", unit_price=Decimal("0"), amount=-order.amount,
    )


@transaction.atomic
def top_up(account, amount: Decimal = Decimal("0")) -> Wallet:
    """Credit the wallet (0: only re-check arrears, e.g. after the overdraft limit changed).

    Once out of arrears, the next lifecycle tick restores the groups stopped for arrears.
    """
    if amount < 0:
        raise InvalidParameter("A top-up must be a positive amount.")
    wallet = wallet_of(account, lock=True)
    wallet.balance += amount
    _note_arrears(wallet)
    wallet.save()
    return wallet


def _hours(start: datetime, end: datetime) -> Decimal:
    return Decimal(max((end - start).total_seconds(), 0)) / SECONDS_PER_HOUR


@transaction.atomic
def meter_machines(group: ResourceGroup, machines, until: datetime) -> list[Bill]:
    """Bill the pay-as-you-go machines among `machines` of `group` up to `until`.

    One bill per kind (postpaid formal machines, temporary machines) sums their machine-hours.
    """
    bills = []
    postpaid = [m for m in machines if m.charge_type == ChargeType.POSTPAID and m.billed_until]
    for temporary, kind in ((False, Bill.Kind.POSTPAID), (True, Bill.Kind.TEMPORARY)):
        metered = [m for m in postpaid if m.temporary == temporary and m.billed_until < until]
        if not metered:
            continue
        hours = sum((_hours(m.billed_until, until) for m in metered), Decimal("0"))
        price = unit_price(Price.Kind.POSTPAID_HOUR, group.machine_type)
        bills.append(charge(
            group.account, money(hours * price), kind=kind, quantity=hours.quantize(Decimal("0.0001")),
            unit="machine-hour", unit_price=price, group=group, machine_type=group.machine_type,
            start=min(m.billed_until for m in metered), end=until,
        ))
        Machine.objects.filter(pk__in=[m.pk for m in metered]).update(billed_until=until)
    return bills


def meter_group(group: ResourceGroup, until: datetime) -> list[Bill]:
    return meter_machines(group, list(group.machines.all()), until)


def meter_usage(now: datetime | None = None) -> int:
    """Bill pay-as-you-go machines of running dedicated groups up to now; returns bills made."""
    now = now or clock.now()
    groups = ResourceGroup.objects.filter(
        kind=ResourceGroup.Kind.DEDICATED, status=ResourceGroup.Status.READY,
        machines__charge_type=ChargeType.POSTPAID,
    ).distinct()
    return sum(len(meter_group(group, now)) for group in groups)


def record_quota_usage(service_id: str, account, quota: int, start: datetime, end: datetime) -> Bill:
    """Bill a public-group service for `quota` Quota (1 core + 4 GB each) held from start to end.

    The services app calls this for every running stretch of a public-group service.
    """
    if not MIN_QUOTA <= quota <= MAX_QUOTA:
        raise InvalidParameter(f"Quota must be {MIN_QUOTA}-{MAX_QUOTA}, not {quota}.")
    if end <= start:
        raise InvalidParameter("The usage period must end after it starts.")
    hours = _hours(start, end) * quota
    price = unit_price(Price.Kind.QUOTA_HOUR)
    return charge(account, money(hours * price), kind=Bill.Kind.QUOTA,
                  quantity=hours.quantize(Decimal("0.0001")), unit="quota-hour", unit_price=price,
                  service_id=str(service_id), start=start, end=end)
