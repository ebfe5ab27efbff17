"""The life of dedicated groups after purchase (the seeds' 预付费/后付费资源组生命周期, R5).

Prepaid: at expiry a group renews itself when auto-renewal is on and the wallet pays, otherwise
it stops (temporary machines with it). Renewing within 15 days (360 hours) restores it; after
that the group, its services and their data are deleted.

Postpaid: while an account is in arrears (see `Wallet`) its postpaid groups are stopped and the
temporary machines of its prepaid groups released. Settling within 15 days of the first unpaid
bill restores the groups; after that they are deleted.

`run()` is driven by beat every minute; it takes the time from `clock.now()`.
"""
import logging
from datetime import datetime, timedelta

from resourcegroups import clock, orders, state
from resourcegroups.billing import InsufficientBalance
from resourcegroups.models import ChargeType, ResourceGroup, Wallet

logger = logging.getLogger(__name__)

GRACE_PERIOD = timedelta(days=15)


def _dedicated():
    return ResourceGroup.objects.filter(kind=ResourceGroup.Kind.DEDICATED).select_related("account")


def _expire_prepaid(now: datetime, report: dict) -> None:
    due = _dedicated().filter(charge_type=ChargeType.PREPAID, status=ResourceGroup.Status.READY,
                              expires_at__lte=now)
    for group in due:
        failure = ""
        if group.auto_renew:
            try:
                orders.renew(group, group.renew_months, now=now)
                report["renewed"].append(group.group_id)
                continue
            except InsufficientBalance as exc:
                failure = f" Automatic renewal failed: {exc.message}"
        deadline = group.expires_at + GRACE_PERIOD
        state.stop(group, ResourceGroup.StopReason.EXPIRED, (
            f"The subscription expired at {group.expires_at:%Y-%m-%d %H:%M:%S} UTC.{failure} Renew before "
            f"{deadline:%Y-%m-%d %H:%M:%S} UTC, otherwise the group and its data are deleted."
        ), now)
        report["stopped"].append(group.group_id)


def _release_overdue(now: datetime, report: dict) -> None:
    deadline = now - GRACE_PERIOD
    stopped = _dedicated().filter(status=ResourceGroup.Status.STOPPED)
    overdue = list(stopped.filter(stop_reason=ResourceGroup.StopReason.EXPIRED, expires_at__lte=deadline))
    overdue += stopped.filter(stop_reason=ResourceGroup.StopReason.ARREARS,
                              account__wallet__arrears_since__lte=deadline)
    for group in overdue:
        logger.warning("releasing resource group %s (%s for 15 days)", group.group_id, group.stop_reason)
        state.release(group, now)
        report["released"].append(group.group_id)


def _apply_arrears(now: datetime, report: dict) -> None:
    for wallet in Wallet.objects.filter(arrears_since__isnull=False).select_related("account"):
        if not wallet.in_arrears:
            continue
        deadline = wallet.arrears_since + GRACE_PERIOD
        message = (f"The account is in arrears since {wallet.arrears_since:%Y-%m-%d %H:%M:%S} UTC. Settle the "
                   f"bills before {deadline:%Y-%m-%d %H:%M:%S} UTC, otherwise the group and its data are deleted.")
        running = _dedicated().filter(account=wallet.account, status=ResourceGroup.Status.READY)
        for group in running.filter(charge_type=ChargeType.POSTPAID):
            state.stop(group, ResourceGroup.StopReason.ARREARS, message, now)
            report["stopped"].append(group.group_id)
        for group in running.filter(charge_type=ChargeType.PREPAID, machines__temporary=True).distinct():
            state.detach(group, list(group.machines.filter(temporary=True)), now)
    settled = _dedicated().filter(status=ResourceGroup.Status.STOPPED, stop_reason=ResourceGroup.StopReason.ARREARS,
                                  account__wallet__arrears_since__isnull=True)
    for group in settled:
        state.start(group, now)
        report["restored"].append(group.group_id)


def run() -> dict[str, list[str]]:
    """One lifecycle tick: group ids renewed, stopped, released and restored."""
    now = clock.now()
    report = {"renewed": [], "stopped": [], "released": [], "restored": []}
    _expire_prepaid(now, report)
    _release_overdue(now, report)
    _apply_arrears(now, report)
    return report
