"""Every resource-group operation goes through the RAM entry point, and tenants never meet."""
import pytest
from rest_framework.test import APIClient

from console.iam import policies
from console.iam.models import AuditEntry
from resourcegroups import orders
from resourcegroups.models import ResourceGroup
from tests.resourcegroups.conftest import POSTPAID_TYPE, add_machine, client_for, make_ram_user

pytestmark = pytest.mark.django_db

LIST, READ, OPERATE = "eas:ListResourceGroup", "eas:ReadResourceGroup", "eas:OperateResourceGroup"
DLINK = {"VSwitchId": "vsw-8vbsunr5bkcbyxh94", "SecurityGroupId": "sg-8vbhwowdxzx5fjcx"}

# operation, method, path (G = the group's URL), body, permission points, needs the finance policy
OPERATIONS = [
    ("ListResources", "get", "/api/v2/resources", None, [LIST], False),
    ("CreateResource", "post", "/api/v2/resources",
     {"ChargeType": "PostPaid", "EcsInstanceType": POSTPAID_TYPE, "EcsInstanceCount": 1}, [OPERATE], True),
    ("DescribeResource", "get", "G", None, [READ], False),
    ("UpdateResource", "put", "G", {"ResourceName": "renamed"}, [OPERATE], False),
    ("DeleteResource", "delete", "G", None, [OPERATE], False),
    ("ListResourceInstances", "get", "G/instances", None, [READ], False),
    ("CreateResourceInstances", "post", "G/instances", {"ChargeType": "PostPaid", "EcsInstanceCount": 1},
     [OPERATE], True),
    ("DeleteResourceInstances", "delete", "G/instances?InstanceList=I", None, [OPERATE], False),
    ("ListResourceServices", "get", "G/services", None, [READ], False),
    ("DescribeResourceDLink", "get", "G/dlink", None, [READ], False),
    ("CreateResourceDLink", "post", "G/dlink", DLINK, [OPERATE], False),
    ("UpdateResourceDLink", "put", "G/dlink", DLINK, [OPERATE], False),
    ("DeleteResourceDLink", "delete", "G/dlink", None, [OPERATE], False),
    ("RenewResource", "post", "G/renew", {"Period": 1}, [OPERATE], True),
    ("ListResourceOrders", "get", "G/orders", None, [READ], False),
    ("DescribeResourceOrder", "get", "G/orders/O", None, [READ], False),
]
OBJECT_OPERATIONS = [op for op in OPERATIONS if op[2].startswith("G")]


@pytest.fixture
def group(tenant, prices, run_tasks):
    """A postpaid group of alice with one machine, and free machines to scale it up."""
    for _ in range(3):
        add_machine(POSTPAID_TYPE)
    order = run_tasks(orders.buy, tenant, region="cn-shanghai", charge_type="PostPaid",
                      machine_type=POSTPAID_TYPE, count=1)
    return ResourceGroup.objects.get(pk=order.group_id)


def call(client, method, path, body, group):
    url = path.replace("G", f"/api/v2/resources/{group.region}/{group.group_id}", 1)
    url = url.replace("=I", f"={group.machines.first().instance_id}").replace("orders/O", (
        f"orders/{group.orders.first().order_id}"))
    return getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)


def test_a_ram_user_without_policies_may_do_nothing_but_read_the_catalog(tenant, group):
    client = client_for(make_ram_user(tenant, "nobody").user)
    for operation, method, path, body, _, _ in OPERATIONS:
        response = call(client, method, path, body, group)
        assert response.status_code == 403, operation
        assert response.json()["Code"] == "Forbidden.RAM" and operation in response.json()["Message"]
    assert client.get("/api/v2/public/instance_types").status_code == 200
    assert ResourceGroup.objects.count() == 1 and group.machines.count() == 1


@pytest.mark.parametrize("operation, method, path, body, points, finance", OPERATIONS,
                         ids=[op[0] for op in OPERATIONS])
def test_each_operation_needs_exactly_its_permission_points(tenant, group, run_tasks, operation, method, path,
                                                            body, points, finance):
    others = [p for p in (LIST, READ, OPERATE) if p not in points]
    denied = client_for(make_ram_user(tenant, "almost", others, finance=True).user)
    assert call(denied, method, path, body, group).status_code == 403

    allowed = client_for(make_ram_user(tenant, "exact", points, finance=finance).user)
    response = run_tasks(call, allowed, method, path, body, group)
    assert response.status_code != 403, response.json()
    assert response.json()["RequestId"]

    if finance:
        unpaid = client_for(make_ram_user(tenant, "nofinance", [LIST, READ, OPERATE]).user)
        response = call(unpaid, method, path, body, group)
        assert response.status_code == 403 and policies.FINANCE_PERMISSION in response.json()["Message"]


def test_buying_without_the_finance_policy_creates_nothing(tenant, group):
    client = client_for(make_ram_user(tenant, "buyer", ["eas:*"]).user)
    response = client.post("/api/v2/resources", {"ChargeType": "PostPaid", "EcsInstanceType": POSTPAID_TYPE,
                                                 "EcsInstanceCount": 1}, format="json")
    assert response.status_code == 403
    assert ResourceGroup.objects.count() == 1 and group.orders.count() == 1


def test_another_tenant_sees_no_group_of_alice(tenant, other_tenant, group):
    bob = client_for(other_tenant.owner)
    assert bob.get("/api/v2/resources").json()["Resources"] == []
    for operation, method, path, body, _, _ in OBJECT_OPERATIONS:
        response = call(bob, method, path, body, group)
        assert response.status_code == 404, operation
        assert response.json()["Code"] == "ResourceNotFound"
    group.refresh_from_db()
    assert group.name == group.group_id and group.machines.count() == 1


def test_policies_scoped_to_one_group_and_explicit_denies(tenant, group, run_tasks):
    add_machine(POSTPAID_TYPE)
    other = ResourceGroup.objects.get(pk=run_tasks(orders.buy, tenant, region="cn-shanghai", charge_type="PostPaid",
                                                   machine_type=POSTPAID_TYPE, count=1).group_id)
    scoped = client_for(make_ram_user(tenant, "scoped", [READ],
                                      resource=f"acs:eas:*:{tenant.uid}:resourcegroup/{group.group_id}").user)
    assert scoped.get(f"/api/v2/resources/cn-shanghai/{group.group_id}").status_code == 200
    assert scoped.get(f"/api/v2/resources/cn-shanghai/{other.group_id}").status_code == 403

    ram_user = make_ram_user(tenant, "denied", ["eas:*"])
    deny = {"Version": "1", "Statement": [{"Effect": "Deny", "Action": OPERATE, "Resource": "*"}]}
    policies.attach(policies.create_policy(tenant, "no-operate", deny), ram_user)
    client = client_for(ram_user.user)
    assert client.get(f"/api/v2/resources/cn-shanghai/{group.group_id}").status_code == 200
    response = client.put(f"/api/v2/resources/cn-shanghai/{group.group_id}", {"ResourceName": "x"}, format="json")
    assert response.status_code == 403 and "explicitly denies" in response.json()["Message"]


def test_anonymous_callers_are_refused(group):
    response = APIClient().get("/api/v2/resources")
    assert response.status_code in (401, 403) and response.json()["Code"] in ("Unauthorized", "Forbidden")


def test_writes_are_audited_with_the_group(api, tenant, run_tasks):
    add_machine(POSTPAID_TYPE)
    body = {"ChargeType": "PostPaid", "EcsInstanceType": POSTPAID_TYPE, "EcsInstanceCount": 1}
    created = run_tasks(api.post, "/api/v2/resources", body, format="json").json()
    entry = AuditEntry.objects.get(operation="CreateResource")
    assert entry.result == "Success" and entry.target.endswith(f"resourcegroup/{created['ResourceId']}")
