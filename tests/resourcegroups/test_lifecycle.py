"""Expiry, renewal, arrears and the 15-day deletion, with a clock the test moves (R5)."""
from decimal import Decimal

import pytest

from resourcegroups import billing, lifecycle, orders, signals
from resourcegroups.models import Bill, Machine, Order, ResourceGroup, Wallet
from tests.resourcegroups.conftest import HOUR_PRICE, MONTH_PRICE, POSTPAID_TYPE, PREPAID_TYPE, add_machine

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    """What the deployment engine would hear, as (signal name, group id)."""
    heard = []
    receivers = {}
    for name in ("group_stopped", "group_started", "group_released", "machines_removed"):
        def receiver(sender, group, _name=name, **kwargs):
            heard.append((_name, group.group_id))
        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield heard
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def bought(tenant, run_tasks, machine_type, count=1, **kwargs) -> ResourceGroup:
    charge_type = "PrePaid" if machine_type == PREPAID_TYPE else "PostPaid"
    order = run_tasks(orders.buy, tenant, region="cn-shanghai", charge_type=charge_type, machine_type=machine_type,
                      count=count, **kwargs)
    group = ResourceGroup.objects.get(pk=order.group_id)
    assert group.status == ResourceGroup.Status.READY, group.message
    return group


def test_expired_group_stops_and_renewal_within_15_days_restores_it(prices, tenant, run_tasks, fake_clock,
                                                                     django_capture_on_commit_callbacks, events):
    machine = add_machine(PREPAID_TYPE)
    group = bought(tenant, run_tasks, PREPAID_TYPE, months=1)
    expiry = group.expires_at

    fake_clock.set(expiry - lifecycle.GRACE_PERIOD / 15)
    assert lifecycle.run()["stopped"] == []
    fake_clock.set(expiry)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.run()["stopped"] == [group.group_id]
    group.refresh_from_db()
    assert (group.status, group.stop_reason) == (ResourceGroup.Status.STOPPED, ResourceGroup.StopReason.EXPIRED)
    assert "Renew before" in group.message
    machine.refresh_from_db()
    assert machine.group == group  # kept, with its data, during the 15 days

    fake_clock.advance(days=14, hours=23)
    assert lifecycle.run()["released"] == []
    with django_capture_on_commit_callbacks(execute=True):
        orders.renew(group, 1)
    group.refresh_from_db()
    assert group.status == ResourceGroup.Status.READY and group.expires_at == orders.add_months(expiry, 1)
    assert events == [("group_stopped", group.group_id), ("group_started", group.group_id)]
    assert billing.wallet_of(tenant).balance == -2 * MONTH_PRICE[PREPAID_TYPE]


def test_group_not_renewed_for_15_days_is_deleted_with_its_services(prices, tenant, run_tasks, fake_clock, events):
    machines = [add_machine(PREPAID_TYPE) for _ in range(2)]
    group = bought(tenant, run_tasks, PREPAID_TYPE, count=2)
    fake_clock.set(group.expires_at)
    lifecycle.run()

    fake_clock.advance(days=15)
    assert lifecycle.run()["released"] == [group.group_id]

    assert not ResourceGroup.objects.filter(group_id=group.group_id).exists()
    assert ("group_released", group.group_id) in events
    assert all(m.group is None and m.charge_type == "" for m in Machine.objects.filter(pk__in=[m.pk for m in machines]))
    assert Order.objects.filter(resource_id=group.group_id).count() == 1  # the purchase stays on record
    with pytest.raises(Exception, match="does not exist"):
        orders.renew(ResourceGroup.objects.get(group_id=group.group_id), 1)


def test_auto_renewal_pays_from_the_wallet_or_stops_the_group(prices, tenant, run_tasks, fake_clock):
    add_machine(PREPAID_TYPE)
    add_machine(PREPAID_TYPE)
    renewing = bought(tenant, run_tasks, PREPAID_TYPE, months=2, auto_renew=True)
    fake_clock.set(renewing.expires_at)
    assert lifecycle.run()["renewed"] == [renewing.group_id]
    renewing.refresh_from_db()
    assert renewing.status == ResourceGroup.Status.READY
    assert Order.objects.filter(group=renewing, kind=Order.Kind.RENEW, months=2).exists()

    poor = bought(tenant, run_tasks, PREPAID_TYPE, months=1, auto_renew=True)
    Wallet.objects.filter(account=tenant).update(overdraft_limit=Decimal("0"))
    fake_clock.set(poor.expires_at)
    assert lifecycle.run()["stopped"] == [poor.group_id]
    poor.refresh_from_db()
    assert poor.status == ResourceGroup.Status.STOPPED and "Automatic renewal failed" in poor.message


def test_temporary_machines_stop_with_the_group_and_stop_costing(prices, tenant, run_tasks, fake_clock, api):
    for _ in range(2):
        add_machine(PREPAID_TYPE)
    group = bought(tenant, run_tasks, PREPAID_TYPE)
    run_tasks(orders.add_machines, group, count=1, charge_type="PostPaid")
    fake_clock.set(group.expires_at)
    lifecycle.run()
    assert Bill.objects.get(kind=Bill.Kind.TEMPORARY).period_end == group.expires_at

    fake_clock.advance(days=3)
    assert billing.meter_usage() == 0
    listed = api.get(f"/api/v2/resources/cn-shanghai/{group.group_id}/instances").json()["Instances"]
    assert {i["InstanceStatus"] for i in listed} == {"Stopped"} and len(listed) == 2
    assert api.get(f"/api/v2/resources/cn-shanghai/{group.group_id}").json()["Status"] == "Stopped"


def test_postpaid_groups_stop_in_arrears_restart_when_settled_and_go_after_15_days(
        prices, tenant, run_tasks, fake_clock):
    Wallet.objects.create(account=tenant, balance=Decimal("10"), overdraft_limit=Decimal("0"))
    add_machine(POSTPAID_TYPE)
    group = bought(tenant, run_tasks, POSTPAID_TYPE)

    fake_clock.advance(hours=3)
    assert billing.meter_usage() == 1
    wallet = billing.wallet_of(tenant)
    assert wallet.balance == 10 - 3 * HOUR_PRICE[POSTPAID_TYPE] and wallet.arrears_since == fake_clock.now
    assert lifecycle.run()["stopped"] == [group.group_id]
    group.refresh_from_db()
    assert group.stop_reason == ResourceGroup.StopReason.ARREARS and "arrears" in group.message
    with pytest.raises(billing.InsufficientBalance, match="arrears"):
        orders.buy(tenant, region="cn-shanghai", charge_type="PostPaid", machine_type=POSTPAID_TYPE, count=1)

    fake_clock.advance(days=2)
    assert billing.meter_usage() == 0  # a stopped group costs nothing
    billing.top_up(tenant, Decimal("20"))
    assert lifecycle.run()["restored"] == [group.group_id]
    group.refresh_from_db()
    assert group.status == ResourceGroup.Status.READY

    fake_clock.advance(hours=4)  # 15.30 left, 19.60 spent
    billing.meter_usage()
    assert lifecycle.run()["stopped"] == [group.group_id]
    fake_clock.advance(days=14)
    assert lifecycle.run()["released"] == []
    fake_clock.advance(days=1)
    assert lifecycle.run()["released"] == [group.group_id]
    assert Machine.objects.filter(group__isnull=True).count() == 1


def test_arrears_release_the_temporary_machines_of_prepaid_groups(prices, tenant, run_tasks, fake_clock):
    for _ in range(2):
        add_machine(PREPAID_TYPE)
    group = bought(tenant, run_tasks, PREPAID_TYPE)
    run_tasks(orders.add_machines, group, count=1, charge_type="PostPaid")
    Wallet.objects.filter(account=tenant).update(overdraft_limit=Decimal("1000"))
    billing.top_up(tenant)
    fake_clock.advance(hours=1)

    lifecycle.run()

    group.refresh_from_db()
    assert group.status == ResourceGroup.Status.READY  # paid for; only its pay-as-you-go part goes
    assert list(group.machines.values_list("temporary", flat=True)) == [False]
    assert Bill.objects.get(kind=Bill.Kind.TEMPORARY).quantity == Decimal("1.0000")


def test_public_services_are_billed_per_quota_hour(prices, tenant, fake_clock):
    start = fake_clock.now
    bill = billing.record_quota_usage("svc-42", tenant, 4, start, fake_clock.advance(minutes=90))
    assert (bill.kind, bill.quantity, bill.unit) == (Bill.Kind.QUOTA, Decimal("6.0000"), "quota-hour")
    assert bill.amount == Decimal("1.62") and billing.wallet_of(tenant).balance == Decimal("-1.62")
    with pytest.raises(Exception, match="Quota must be 1-100"):
        billing.record_quota_usage("svc-42", tenant, 101, start, fake_clock.now)
