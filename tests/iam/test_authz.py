"""The permission matrix, wildcards and Deny-over-Allow, checked through `authorize` directly."""
import pytest

from console.iam import authz
from console.iam.errors import Forbidden, Unauthorized
from tests.iam.conftest import make_ram_user

# One representative operation per permission point, with the kind of resource it acts on.
POINT_OPERATIONS = {
    "eas:EditInstance": ("UpdateService", "service"),
    "eas:ListInstance": ("ListServices", "service"),
    "eas:ReadInstance": ("DescribeService", "service"),
    "eas:OperateInstance": ("StopService", "service"),
    "eas:ListResourceGroup": ("ListResources", "resourcegroup"),
    "eas:ReadResourceGroup": ("DescribeResource", "resourcegroup"),
    "eas:OperateResourceGroup": ("DeleteResource", "resourcegroup"),
}


def arn_for(kind, account):
    if kind == "service":
        return authz.service_arn(account, "demo")
    return authz.resourcegroup_arn(account, "eas-r-abc123")


def statements_for(effect, point):
    if effect is None:
        # Something unrelated is allowed, the point itself has no statement.
        return [{"Effect": "Allow", "Action": "bss:PayOrder", "Resource": "*"}]
    return [{"Effect": effect, "Action": [point], "Resource": "*"}]


@pytest.mark.parametrize("tenant_of_resource", ["own", "other"])
@pytest.mark.parametrize("effect", ["Allow", "Deny", None])
@pytest.mark.parametrize("point", list(POINT_OPERATIONS))
def test_ram_user_matrix(tenant, other_tenant, point, effect, tenant_of_resource):
    operation, kind = POINT_OPERATIONS[point]
    principal = authz.principal_for_user(make_ram_user(tenant, statements=statements_for(effect, point)).user)
    target = arn_for(kind, tenant if tenant_of_resource == "own" else other_tenant)
    expected = effect == "Allow" and tenant_of_resource == "own"

    assert authz.is_allowed(principal, operation, target) is expected
    if expected:
        authz.authorize(principal, operation, target)
    else:
        with pytest.raises(Forbidden) as exc:
            authz.authorize(principal, operation, target)
        assert exc.value.status == 403 and exc.value.code == "Forbidden.RAM"
        if tenant_of_resource == "own":
            assert point in exc.value.message
            assert ("explicitly denies" in exc.value.message) is (effect == "Deny")
        else:
            assert "does not belong to account" in exc.value.message


@pytest.mark.parametrize("tenant_of_resource", ["own", "other"])
@pytest.mark.parametrize("point", list(POINT_OPERATIONS))
def test_main_account_matrix(tenant, other_tenant, point, tenant_of_resource):
    operation, kind = POINT_OPERATIONS[point]
    principal = authz.principal_for_user(tenant.owner)
    target = arn_for(kind, tenant if tenant_of_resource == "own" else other_tenant)
    assert authz.is_allowed(principal, operation, target) is (tenant_of_resource == "own")


def test_collection_operations_use_the_tenant_collection(tenant):
    principal = authz.principal_for_user(make_ram_user(tenant, statements=[
        {"Effect": "Allow", "Action": "eas:ListInstance", "Resource": f"acs:eas:*:{tenant.uid}:service/*"},
    ]).user)
    authz.authorize(principal, "ListServices")
    assert principal.checks[-1] == ("ListServices", authz.service_arn(tenant, "*"), True)
    assert not authz.is_allowed(principal, "ListResources")


def test_action_wildcards(tenant):
    read_only = authz.principal_for_user(make_ram_user(tenant, "reader", statements=[
        {"Effect": "Allow", "Action": ["eas:Read*", "eas:list*"], "Resource": "*"},
    ]).user)
    everything = authz.principal_for_user(make_ram_user(tenant, "admin2", statements=[
        {"Effect": "Allow", "Action": "eas:*", "Resource": "*"},
    ]).user)
    svc = authz.service_arn(tenant, "demo")
    assert authz.is_allowed(read_only, "DescribeService", svc)
    assert authz.is_allowed(read_only, "ListServices")  # actions compare case-insensitively
    assert authz.is_allowed(read_only, "DescribeResource", authz.resourcegroup_arn(tenant, "eas-r-1"))
    assert not authz.is_allowed(read_only, "UpdateService", svc)
    assert not authz.is_allowed(read_only, "StartService", svc)
    for operation in ("UpdateService", "StartService", "DeleteService", "DescribeService"):
        assert authz.is_allowed(everything, operation, svc)


def test_resource_wildcards(tenant):
    principal = authz.principal_for_user(make_ram_user(tenant, statements=[
        {"Effect": "Allow", "Action": "eas:*", "Resource": "acs:eas:*:*:service/demo_*"},
    ]).user)
    assert authz.is_allowed(principal, "UpdateService", authz.service_arn(tenant, "demo_1"))
    assert authz.is_allowed(principal, "UpdateService", authz.service_arn(tenant, "demo_2", region="cn-beijing"))
    assert not authz.is_allowed(principal, "UpdateService", authz.service_arn(tenant, "prod"))
    assert not authz.is_allowed(principal, "DescribeResource", authz.resourcegroup_arn(tenant, "demo_1"))
    # The pattern does not cover the whole collection, so listing is not granted by it.
    assert not authz.is_allowed(principal, "ListServices")


def test_deny_beats_allow(tenant):
    principal = authz.principal_for_user(make_ram_user(tenant, statements=[
        {"Effect": "Allow", "Action": "eas:*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["eas:EditInstance", "eas:OperateInstance"],
         "Resource": ["acs:eas:*:*:service/prod*"]},
    ]).user)
    prod, demo = authz.service_arn(tenant, "prod-1"), authz.service_arn(tenant, "demo")
    assert authz.is_allowed(principal, "DescribeService", prod)
    assert authz.is_allowed(principal, "UpdateService", demo)
    with pytest.raises(Forbidden, match="explicitly denies eas:EditInstance"):
        authz.authorize(principal, "DeleteService", prod)
    assert not authz.is_allowed(principal, "StopService", prod)


def test_deny_from_another_policy_wins(tenant):
    ram_user = make_ram_user(tenant, attach=["AliyunPAIEASFullAccess"], statements=[
        {"Effect": "Deny", "Action": "eas:*", "Resource": "*"},
    ])
    assert not authz.is_allowed(authz.principal_for_user(ram_user.user), "ListServices")


def test_buying_a_resource_group_needs_the_finance_policy(tenant):
    operator = make_ram_user(tenant, "ops", statements=[
        {"Effect": "Allow", "Action": "eas:OperateResourceGroup", "Resource": "*"},
    ])
    with pytest.raises(Forbidden, match="bss:PayOrder"):
        authz.authorize(authz.principal_for_user(operator.user), "CreateResource")
    buyer = make_ram_user(tenant, "buyer", attach=["AliyunFinanceConsoleFullAccess"], statements=[
        {"Effect": "Allow", "Action": "eas:OperateResourceGroup", "Resource": "*"},
    ])
    authz.authorize(authz.principal_for_user(buyer.user), "CreateResource")
    finance_only = make_ram_user(tenant, "payer", attach=["AliyunFinanceConsoleFullAccess"])
    with pytest.raises(Forbidden, match="eas:OperateResourceGroup"):
        authz.authorize(authz.principal_for_user(finance_only.user), "CreateResource")


def test_authentication_only_operations(tenant):
    nobody = authz.principal_for_user(make_ram_user(tenant).user)
    assert authz.OPERATIONS["DescribeRegions"] == () and authz.OPERATIONS["DescribeMachineSpec"] == ()
    authz.authorize(nobody, "DescribeRegions")
    authz.authorize(nobody, "DescribeMachineSpec")


def test_ram_management_is_main_account_only(tenant):
    ram_admin = authz.principal_for_user(make_ram_user(tenant, statements=[
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
    ]).user)
    with pytest.raises(Forbidden, match="only the main account"):
        authz.authorize(ram_admin, "CreateUser")
    authz.authorize(authz.principal_for_user(tenant.owner), "CreateUser")


def test_principals(tenant, django_user_model):
    main = authz.principal_for_user(tenant.owner)
    assert main.is_main_account and main.ram_user is None and main.access_key is None
    assert main.account == tenant and main.display_name == "alice"
    ram_user = make_ram_user(tenant)
    principal = authz.principal_for_user(ram_user.user)
    assert not principal.is_main_account and principal.account == tenant
    assert principal.display_name == f"dev@{tenant.uid}"
    orphan = django_user_model.objects.create_user("orphan", password="x")
    with pytest.raises(Unauthorized):
        authz.principal_for_user(orphan)


def test_every_operation_has_known_points():
    known = set(authz.policies.EAS_PERMISSION_POINTS) | {authz.FINANCE}
    for operation, points in authz.OPERATIONS.items():
        assert all(p in known or p.startswith("ram:") for p in points), operation
    with pytest.raises(ValueError):
        authz.is_allowed(None, "NoSuchOperation")
