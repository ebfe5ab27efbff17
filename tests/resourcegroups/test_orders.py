"""Buying and scaling dedicated groups through the API: orders, capacity, refunds, billing (R2, R4)."""
from datetime import timedelta
from decimal import Decimal

import pytest

from resourcegroups import billing, orders
from resourcegroups.models import Bill, Machine, Order, ResourceGroup, Wallet
from tests.resourcegroups.conftest import (
    GPU_TYPE,
    HOUR_PRICE,
    MONTH_PRICE,
    POSTPAID_TYPE,
    PREPAID_TYPE,
    add_machine,
)

pytestmark = pytest.mark.django_db


def buy(api, run_tasks, **body):
    response = run_tasks(api.post, "/api/v2/resources", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def group_url(created: dict) -> str:
    return f"/api/v2/resources/{created['ClusterId']}/{created['ResourceId']}"


def order_of(api, created: dict, order_id: str) -> dict:
    response = api.get(f"{group_url(created)}/orders/{order_id}")
    assert response.status_code == 200, response.json()
    return response.json()


def instances(api, created: dict) -> list[dict]:
    return api.get(f"{group_url(created)}/instances").json()["Instances"]


def test_prepaid_purchase_takes_free_machines_of_the_type(api, run_tasks, tenant, fake_clock):
    bought = [add_machine(PREPAID_TYPE) for _ in range(2)]
    add_machine(GPU_TYPE)  # another type: never taken for this order

    created = buy(api, run_tasks, ChargeType="PrePaid", EcsInstanceType=PREPAID_TYPE, EcsInstanceCount=2,
                  Period=3, AutoRenewal=True, ResourceName="ranking")

    assert created["ResourceId"].startswith("eas-r-") and created["OwnerUid"] == tenant.uid
    assert created["ResourceName"] == "ranking" and created["ClusterId"] == "cn-shanghai"
    order = order_of(api, created, created["OrderId"])
    assert order["Status"] == "Completed" and order["OrderType"] == "Create"
    assert sorted(order["InstanceIds"]) == sorted(m.instance_id for m in bought)
    assert order["Amount"] == str(MONTH_PRICE[PREPAID_TYPE] * 2 * 3) + ".00"

    detail = api.get(group_url(created)).json()
    assert detail["Status"] == "ResourceReady" and detail["Message"] == "Resource is ready"
    assert (detail["InstanceCount"], detail["PrePaidInstanceCount"], detail["CpuCount"], detail["Memory"]) == (
        2, 2, 48, 2 * 48 * 1024)
    assert detail["RequestId"] and detail["OwnerUid"] == tenant.uid
    group = ResourceGroup.objects.get(group_id=created["ResourceId"])
    assert group.expires_at == orders.add_months(fake_clock.now, 3) and group.auto_renew

    listed = instances(api, created)
    assert {i["InstanceName"] for i in listed} == {m.name for m in bought}
    assert all(i["ChargeType"] == "PrePaid" and not i["Temporary"] and i["InstanceStatus"] == "Ready"
               and i["InstanceMemory"] == "49152M" and i["InstanceType"] == PREPAID_TYPE for i in listed)
    assert billing.wallet_of(tenant).balance == -MONTH_PRICE[PREPAID_TYPE] * 6


def test_purchase_without_enough_machines_is_refunded_with_the_reason(api, run_tasks, tenant):
    add_machine(PREPAID_TYPE)
    add_machine(PREPAID_TYPE, status=Machine.Status.NOT_READY)  # not sellable while NotReady

    created = buy(api, run_tasks, ChargeType="PrePaid", EcsInstanceType=PREPAID_TYPE, EcsInstanceCount=3)

    order = order_of(api, created, created["OrderId"])
    assert order["Status"] == "Refunded"
    assert "Insufficient resources in cn-shanghai: 3 × ecs.c5.6xlarge requested, 1 available" in order["Reason"]
    refund = order_of(api, created, order["RefundOrderIds"][0])
    assert refund["OrderType"] == "Refund" and refund["RefundOf"] == created["OrderId"]
    assert Decimal(refund["Amount"]) == -Decimal(order["Amount"]) == -3 * MONTH_PRICE[PREPAID_TYPE]
    assert billing.wallet_of(tenant).balance == 0
    assert sorted(Bill.objects.values_list("kind", flat=True)) == ["PrePaid", "Refund"]

    detail = api.get(group_url(created)).json()
    assert detail["Status"] == "CreateFailed" and "refunded" in detail["Message"]
    assert Machine.objects.filter(group__isnull=True).count() == 2
    assert api.delete(group_url(created)).status_code == 200


def test_postpaid_scale_up_down_stop_and_delete(api, run_tasks, fake_clock, tenant):
    for _ in range(3):
        add_machine(POSTPAID_TYPE)
    created = buy(api, run_tasks, ChargeType="PostPaid", EcsInstanceType=POSTPAID_TYPE, EcsInstanceCount=1)
    assert api.get(group_url(created)).json()["Status"] == "ResourceReady"
    assert order_of(api, created, created["OrderId"])["Amount"] == "0.00"

    response = run_tasks(api.post, f"{group_url(created)}/instances",
                         {"ChargeType": "PostPaid", "EcsInstanceCount": 2}, format="json")
    assert response.status_code == 200, response.json()
    assert order_of(api, created, response.json()["OrderId"])["Status"] == "Completed"
    assert api.get(group_url(created)).json()["PostPaidInstanceCount"] == 3

    fake_clock.advance(hours=2)
    victim = instances(api, created)[0]["InstanceId"]
    response = api.delete(f"{group_url(created)}/instances?InstanceList={victim}")
    assert response.status_code == 200, response.json()
    assert Machine.objects.get(instance_id=victim).group is None
    bill = Bill.objects.get(kind=Bill.Kind.POSTPAID)
    assert bill.quantity == Decimal("2.0000") and bill.amount == 2 * HOUR_PRICE[POSTPAID_TYPE]

    assert api.delete(group_url(created)).json()["Code"] == "ResourceNotStopped"
    response = api.put(group_url(created), {"EcsInstanceCount": 0}, format="json")
    assert response.status_code == 200, response.json()
    detail = api.get(group_url(created)).json()
    assert (detail["Status"], detail["InstanceCount"]) == ("Stopped", 0)
    assert detail["ExtraData"] and '"StopReason": "ScaledToZero"' in detail["ExtraData"]

    response = run_tasks(api.put, group_url(created), {"EcsInstanceCount": 1}, format="json")
    assert api.get(group_url(created)).json()["Status"] == "ResourceReady"
    api.put(group_url(created), {"EcsInstanceCount": 0}, format="json")

    assert api.delete(group_url(created)).status_code == 200
    assert api.get(group_url(created)).json()["Code"] == "ResourceNotFound"
    assert Machine.objects.filter(group__isnull=True).count() == 3
    assert Order.objects.filter(resource_id=created["ResourceId"]).count() == 6  # kept after deletion


def test_prepaid_scale_up_keeps_the_expiry_and_pays_the_time_left(api, run_tasks, fake_clock):
    add_machine(GPU_TYPE)
    add_machine(GPU_TYPE)
    created = buy(api, run_tasks, ChargeType="PrePaid", EcsInstanceType=GPU_TYPE, EcsInstanceCount=1, Period=1)
    group = ResourceGroup.objects.get(group_id=created["ResourceId"])
    expiry = group.expires_at
    fake_clock.advance(days=10)

    response = run_tasks(api.post, f"{group_url(created)}/instances",
                         {"ChargeType": "PrePaid", "EcsInstanceCount": 1, "EcsInstanceType": GPU_TYPE}, format="json")
    order = order_of(api, created, response.json()["OrderId"])
    assert order["OrderType"] == "ScaleUp" and order["Status"] == "Completed"
    group.refresh_from_db()
    assert group.expires_at == expiry
    months_left = Decimal((expiry - fake_clock.now).total_seconds()) / Decimal(30 * 86400)
    assert Decimal(order["Amount"]) == billing.money(MONTH_PRICE[GPU_TYPE] * months_left)
    listed = instances(api, created)
    assert len(listed) == 2 and all(i["InstanceGpuCount"] == 1 and i["InstanceGpuMemory"] == "16GB" for i in listed)
    assert {i["ExpiredTime"] for i in listed} == {expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}

    response = api.post(f"{group_url(created)}/instances",
                        {"ChargeType": "PrePaid", "EcsInstanceCount": 1, "EcsInstanceType": PREPAID_TYPE}, format="json")
    assert response.json()["Code"] == "InvalidParameter.EcsInstanceType"


def test_temporary_machines_are_billed_by_the_hour_and_released_one_by_one(api, run_tasks, fake_clock):
    formal = add_machine(PREPAID_TYPE)
    for _ in range(2):
        add_machine(PREPAID_TYPE)
    created = buy(api, run_tasks, ChargeType="PrePaid", EcsInstanceType=PREPAID_TYPE, EcsInstanceCount=1)
    response = run_tasks(api.post, f"{group_url(created)}/instances",
                         {"ChargeType": "PostPaid", "EcsInstanceCount": 2}, format="json")
    assert order_of(api, created, response.json()["OrderId"])["OrderType"] == "TemporaryScaleOut"

    temporary = [i for i in instances(api, created) if i["Temporary"]]
    assert len(temporary) == 2 and {i["ChargeType"] for i in temporary} == {"PostPaid"}
    detail = api.get(group_url(created)).json()
    assert (detail["PrePaidInstanceCount"], detail["PostPaidInstanceCount"]) == (1, 2)

    fake_clock.advance(hours=1)
    response = api.delete(f"{group_url(created)}/instances?InstanceList={temporary[0]['InstanceId']}")
    assert response.status_code == 200
    bill = Bill.objects.get(kind=Bill.Kind.TEMPORARY)
    assert (bill.quantity, bill.amount) == (Decimal("1.0000"), HOUR_PRICE[PREPAID_TYPE])
    assert len(instances(api, created)) == 2

    response = api.delete(f"{group_url(created)}/instances?InstanceList={formal.instance_id}")
    assert response.status_code == 400 and response.json()["Code"] == "Forbidden.PrePaidInstance"
    response = api.delete(f"{group_url(created)}/instances?InstanceList=i-nosuchmachine")
    assert response.status_code == 404 and response.json()["Code"] == "InstanceNotFound"
    assert api.delete(group_url(created)).json()["Code"] == "Forbidden.PrePaidResource"


def test_renewal_extends_the_subscription_and_is_paid(api, run_tasks, tenant):
    add_machine(PREPAID_TYPE)
    created = buy(api, run_tasks, ChargeType="PrePaid", EcsInstanceType=PREPAID_TYPE, EcsInstanceCount=1)
    expiry = ResourceGroup.objects.get(group_id=created["ResourceId"]).expires_at

    response = api.post(f"{group_url(created)}/renew", {"Period": 1, "PeriodUnit": "Year"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["ExpiredTime"] == orders.add_months(expiry, 12).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert order_of(api, created, response.json()["OrderId"])["Amount"] == str(MONTH_PRICE[PREPAID_TYPE] * 12) + ".00"
    assert billing.wallet_of(tenant).balance == -MONTH_PRICE[PREPAID_TYPE] * 13


@pytest.mark.parametrize("body, code", [
    ({"ChargeType": "PostPaid", "EcsInstanceType": PREPAID_TYPE, "EcsInstanceCount": 1},
     "InvalidParameter.EcsInstanceType"),
    ({"ChargeType": "PrePaid", "EcsInstanceType": POSTPAID_TYPE, "EcsInstanceCount": 1},
     "InvalidParameter.EcsInstanceType"),
    ({"ChargeType": "PrePaid", "EcsInstanceType": "ecs.nope", "EcsInstanceCount": 1},
     "InvalidParameter.EcsInstanceType"),
    ({"ChargeType": "PrePaid", "EcsInstanceType": PREPAID_TYPE, "EcsInstanceCount": 1001},
     "InvalidParameter.EcsInstanceCount"),
    ({"ChargeType": "PostPaid", "EcsInstanceType": POSTPAID_TYPE, "EcsInstanceCount": 101},
     "InvalidParameter.EcsInstanceCount"),
    ({"ChargeType": "PostPaid", "EcsInstanceType": POSTPAID_TYPE, "EcsInstanceCount": 0},
     "InvalidParameter.EcsInstanceCount"),
    ({"ChargeType": "PrePaid", "EcsInstanceType": PREPAID_TYPE, "EcsInstanceCount": 1, "Period": 12},
     "InvalidParameter.Period"),
    ({"ChargeType": "PrePaid", "EcsInstanceType": PREPAID_TYPE, "EcsInstanceCount": 1, "Period": 2,
      "PeriodUnit": "Year"}, "InvalidParameter.Period"),
    ({"ChargeType": "Monthly", "EcsInstanceType": PREPAID_TYPE, "EcsInstanceCount": 1}, "InvalidParameter"),
    ({"ResourceType": "SelfManaged", "ChargeType": "PrePaid", "EcsInstanceType": PREPAID_TYPE,
      "EcsInstanceCount": 1}, "InvalidParameter"),
    ({"ChargeType": "PrePaid", "EcsInstanceType": PREPAID_TYPE, "EcsInstanceCount": 1, "ClusterId": "mars-1"},
     "InvalidParameter.ClusterId"),
    ({"ChargeType": "PostPaid", "EcsInstanceType": POSTPAID_TYPE, "EcsInstanceCount": 1, "ResourceName": "a b"},
     "InvalidParameter.ResourceName"),
])
def test_invalid_purchases_are_refused_and_create_nothing(api, body, code):
    response = api.post("/api/v2/resources", body, format="json")
    assert response.status_code == 400
    assert response.json()["Code"] == code and response.json()["Message"]
    assert not ResourceGroup.objects.exists() and not Order.objects.exists()


def test_a_purchase_the_balance_does_not_cover_is_refused(api, tenant):
    Wallet.objects.create(account=tenant, balance=Decimal("100"), overdraft_limit=Decimal("0"))
    response = api.post("/api/v2/resources", {"ChargeType": "PrePaid", "EcsInstanceType": PREPAID_TYPE,
                                              "EcsInstanceCount": 1}, format="json")
    assert response.status_code == 400 and response.json()["Code"] == "InsufficientBalance"
    assert not ResourceGroup.objects.exists() and billing.wallet_of(tenant).balance == Decimal("100")


def test_groups_are_listed_sorted_and_paged_and_renamed(api, run_tasks):
    for _ in range(3):
        add_machine(POSTPAID_TYPE)
    ids = [buy(api, run_tasks, ChargeType="PostPaid", EcsInstanceType=POSTPAID_TYPE,
               EcsInstanceCount=n)["ResourceId"] for n in (1, 2)]

    body = api.get("/api/v2/resources?PageSize=1&PageNumber=2&Sort=CpuCount&Order=Asc").json()
    assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (2, 2, 1)
    assert [r["ResourceId"] for r in body["Resources"]] == [ids[1]]
    assert body["Resources"][0]["CpuCount"] == 32 and body["Resources"][0]["ExtraData"]["ChargeType"] == "PostPaid"
    assert api.get("/api/v2/resources?PageSize=0").json()["Code"] == "InvalidParameter.PageSize"

    url = f"/api/v2/resources/cn-shanghai/{ids[0]}"
    response = api.put(url, {"ResourceName": "推荐-online"}, format="json")
    assert response.json()["ResourceName"] == "推荐-online"
    assert api.get("/api/v2/resources?ResourceName=online").json()["Resources"][0]["ResourceId"] == ids[0]
    assert api.put(url, {"ResourceName": "bad name!"}, format="json").json()["Code"] == "InvalidParameter.ResourceName"
    assert api.get(f"/api/v2/resources/cn-beijing/{ids[0]}").json()["Code"] == "ResourceNotFound"


def test_orders_never_share_a_machine(prices, tenant):
    machine = add_machine(PREPAID_TYPE)
    first = orders.buy(tenant, region="cn-shanghai", charge_type="PrePaid", machine_type=PREPAID_TYPE, count=1)
    second = orders.buy(tenant, region="cn-shanghai", charge_type="PrePaid", machine_type=PREPAID_TYPE, count=1)
    assert orders.process(first.pk).status == Order.Status.COMPLETED
    assert orders.process(second.pk).status == Order.Status.REFUNDED
    assert orders.process(first.pk).status == Order.Status.COMPLETED  # processing twice changes nothing
    machine.refresh_from_db()
    group = ResourceGroup.objects.get(pk=first.group_id)
    assert machine.group == group and group.status == ResourceGroup.Status.READY
    assert timedelta(days=28) < group.expires_at - machine.assigned_at <= timedelta(days=31)
    assert ResourceGroup.objects.get(pk=second.group_id).status == ResourceGroup.Status.CREATE_FAILED


def test_failed_machines_are_released_first(api, run_tasks):
    for _ in range(3):
        add_machine(POSTPAID_TYPE)
    created = buy(api, run_tasks, ChargeType="PostPaid", EcsInstanceType=POSTPAID_TYPE, EcsInstanceCount=3)
    broken = list(Machine.objects.filter(group__group_id=created["ResourceId"]).order_by("pk"))
    Machine.objects.filter(pk=broken[1].pk).update(status=Machine.Status.NOT_READY)

    response = api.delete(f"{group_url(created)}/instances?AllFailed=true")
    assert response.status_code == 200 and response.json()["Message"].endswith(f"{broken[1].instance_id}.")
    Machine.objects.filter(pk=broken[2].pk).update(status=Machine.Status.NOT_READY)
    api.put(group_url(created), {"EcsInstanceCount": 1}, format="json")
    assert [i["InstanceId"] for i in instances(api, created)] == [broken[0].instance_id]
    assert api.delete(f"{group_url(created)}/instances?AllFailed=true").json()["Code"] == \
        "InvalidParameter.InstanceList"
