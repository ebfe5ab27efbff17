"""Machine inventory: where joining machines go, the operator's commands and Django admin."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from console.iam import accounts
from resourcegroups import billing, fleet, groups, orders
from resourcegroups.models import Machine, Price, ResourceGroup
from tests.resourcegroups.conftest import POSTPAID_TYPE, PREPAID_TYPE, add_machine

pytestmark = pytest.mark.django_db


def join(settings, name, **spec):
    return fleet.register_machine(join_token=settings.EAS_JOIN_TOKEN, name=name, ip="10.0.0.7",
                                  **{"cpu": 4, "memory_mb": 8192, **spec})


def test_machines_join_the_public_group_unless_they_are_for_sale(settings):
    sellable = join(settings, "c5", cpu=24, memory_mb=48 * 1024, pool="free")
    gpu = join(settings, "t4", cpu=8, memory_mb=31 * 1024, gpu=1, gpu_type="Tesla T4", pool="free")
    labelled = join(settings, "labelled", machine_type=POSTPAID_TYPE)
    laptop = join(settings, "laptop")
    shared = join(settings, "shared", cpu=24, memory_mb=48 * 1024)

    assert sellable.group is None and gpu.group is None and labelled.group is None
    assert laptop.group == shared.group == groups.public_group("cn-shanghai")
    assert sellable.shown_type == shared.shown_type == PREPAID_TYPE and labelled.shown_type == POSTPAID_TYPE
    assert gpu.shown_type == "ecs.gn6i-c8g1.2xlarge" and laptop.shown_type == "" and laptop.region == "cn-shanghai"
    assert orders.stock("cn-shanghai", PREPAID_TYPE) == 1 and orders.stock("cn-shanghai", POSTPAID_TYPE) == 1


def test_a_machine_that_joins_again_keeps_its_place_and_its_label(settings):
    join(settings, "laptop")
    call_command("assignmachine", "laptop", "free")
    join(settings, "laptop", machine_type=PREPAID_TYPE)
    machine = join(settings, "laptop", cpu=6)
    assert machine.group is None and machine.machine_type == PREPAID_TYPE and machine.cpu == 6


@pytest.mark.parametrize("change, reason", [
    ({"join_token": "guess"}, "wrong join token"),
    ({"machine_type": "ecs.imaginary"}, "unknown machine type"),
    ({"region": "mars-1"}, "unknown region"),
    ({"pool": "dedicated"}, "pool must be"),
])
def test_joins_that_are_refused(settings, change, reason):
    spec = {"join_token": settings.EAS_JOIN_TOKEN, "name": "n1", "ip": "10.0.0.7", "cpu": 4, "memory_mb": 8192}
    with pytest.raises(fleet.JoinRefused, match=reason):
        fleet.register_machine(**{**spec, **change})
    assert not Machine.objects.exists()


def test_heartbeats_stopping_mark_a_machine_not_ready_and_resuming_restores_it(settings):
    settings.EAS_HEARTBEAT_SECONDS = 1
    join(settings, "n1")
    fleet.record_heartbeat(name="n1", cpu_used=1.5, memory_used_mb=2048, gpu_utilization=0)
    assert fleet.mark_unresponsive_machines() == []
    Machine.objects.update(last_heartbeat=timezone.now() - timedelta(seconds=3.5))
    assert fleet.mark_unresponsive_machines() == ["n1"]
    assert Machine.objects.get().status == Machine.Status.NOT_READY
    assert fleet.record_heartbeat(name="n1", cpu_used=0.5, memory_used_mb=1024)
    machine = Machine.objects.get()
    assert (machine.status, machine.cpu_used, machine.memory_used_mb) == (Machine.Status.READY, 0.5, 1024)
    assert not fleet.record_heartbeat(name="unknown", cpu_used=0, memory_used_mb=0)


def test_assignmachine_moves_machines_between_public_and_free(settings, tenant, prices, run_tasks):
    join(settings, "laptop")
    call_command("assignmachine", "laptop", "free")
    assert Machine.objects.get(name="laptop").group is None
    call_command("assignmachine", "laptop", "public")
    assert Machine.objects.get(name="laptop").group.is_public

    add_machine(POSTPAID_TYPE, name="sold")
    run_tasks(orders.buy, tenant, region="cn-shanghai", charge_type="PostPaid", machine_type=POSTPAID_TYPE, count=1)
    with pytest.raises(CommandError, match="belongs to dedicated group"):
        call_command("assignmachine", "sold", "public")
    with pytest.raises(CommandError, match="no machine"):
        call_command("assignmachine", "ghost", "free")


def test_topup_command_settles_arrears(tenant):
    billing.wallet_of(tenant)
    tenant.wallet.balance, tenant.wallet.overdraft_limit = Decimal("-50"), Decimal("0")
    tenant.wallet.save()
    billing.top_up(tenant)
    assert billing.wallet_of(tenant).in_arrears
    call_command("topup", tenant.uid, "80")
    wallet = billing.wallet_of(tenant)
    assert wallet.balance == Decimal("30") and wallet.arrears_since is None
    with pytest.raises(CommandError):
        call_command("topup", "nobody", "1")


def test_operators_manage_machines_groups_orders_bills_prices_and_wallets(settings, tenant, prices, run_tasks):
    operator = accounts.create_main_account("root", "correct horse battery", is_operator=True)
    client = Client()
    client.force_login(operator.owner)
    join(settings, "laptop")
    add_machine(PREPAID_TYPE, name="big")
    group = run_tasks(orders.buy, tenant, region="cn-shanghai", charge_type="PrePaid", machine_type=PREPAID_TYPE,
                      count=1).group

    for page in ("machine", "resourcegroup", "order", "bill", "price", "wallet"):
        assert client.get(f"/admin/resourcegroups/{page}/").status_code == 200, page
    assert client.get(f"/admin/resourcegroups/resourcegroup/{group.pk}/change/").status_code == 200

    laptop = Machine.objects.get(name="laptop")
    client.post("/admin/resourcegroups/machine/", {"action": "make_free", "_selected_action": [laptop.pk]})
    assert Machine.objects.get(name="laptop").group is None

    price = Price.objects.get(machine_type=PREPAID_TYPE, kind=Price.Kind.PREPAID_MONTH)
    client.post(f"/admin/resourcegroups/price/{price.pk}/change/",
                {"machine_type": PREPAID_TYPE, "kind": price.kind, "unit_price": "2000", "currency": "CNY"})
    assert billing.unit_price(Price.Kind.PREPAID_MONTH, PREPAID_TYPE) == Decimal("2000")

    wallet = billing.wallet_of(tenant)
    response = client.post(f"/admin/resourcegroups/wallet/{wallet.pk}/change/",
                           {"account": tenant.pk, "overdraft_limit": "", "top_up": "3000"})
    assert response.status_code == 302
    assert billing.wallet_of(tenant).balance == Decimal("3000") - 2600

    client.post("/admin/resourcegroups/resourcegroup/", {"action": "release", "_selected_action": [group.pk]})
    assert not ResourceGroup.objects.filter(pk=group.pk).exists()
    assert Machine.objects.get(name="big").group is None
