"""The machine-type catalog, DescribeMachineSpec, the public group and what services may ask of it."""
import pytest

from console.iam.errors import ApiError, InvalidParameter, NotFound
from resourcegroups import catalog, groups, orders, policy
from resourcegroups.models import Machine, ResourceGroup
from tests.resourcegroups.conftest import GPU_TYPE, POSTPAID_TYPE, PREPAID_TYPE, add_machine


def test_the_seed_table_of_fourteen_types():
    assert len(catalog.MACHINE_TYPES) == 14
    by_name = {t["name"]: t for t in catalog.MACHINE_TYPES}
    assert by_name["ecs.c5.6xlarge"]["charge_types"] == ("PrePaid",)
    assert by_name["ecs.g6.6xlarge"]["charge_types"] == ("PostPaid",)
    assert by_name["ecs.gn6v-c8g1.2xlarge"].items() >= {"cpu": 8, "memory_gb": 32, "gpu": 1,
                                                         "gpu_model": "Tesla V100"}.items()
    assert sum(1 for t in catalog.MACHINE_TYPES if t["gpu"]) == 10


@pytest.mark.parametrize("spec, types", [
    ((24, 48 * 1024), ["ecs.c5.6xlarge"]),
    ((24, 96 * 1024 - 900), ["ecs.g5.6xlarge", "ecs.g6.6xlarge"]),  # the same spec sold two ways
    ((8, 31 * 1024, 1, "NVIDIA Tesla T4"), ["ecs.gn6i-c8g1.2xlarge"]),
    ((8, 32 * 1024, 1, "Tesla V100-SXM2-16GB"), ["ecs.gn6v-c8g1.2xlarge"]),
    ((8, 32 * 1024, 1, ""), ["ecs.gn5i-c8g1.2xlarge", "ecs.gn6i-c8g1.2xlarge", "ecs.gn6v-c8g1.2xlarge"]),
    ((4, 8 * 1024), []),
    ((24, 60 * 1024), []),
])
def test_machines_match_types_by_spec(spec, types):
    assert catalog.matching_types(*spec) == types


@pytest.mark.django_db
def test_describe_machine_spec_shows_the_free_stock_and_prices(api):
    add_machine(GPU_TYPE)
    add_machine(PREPAID_TYPE, status=Machine.Status.NOT_READY)
    add_machine(machine_type=None, cpu=24, memory_mb=49152, gpu=0)
    Machine.objects.filter(cpu=24, status=Machine.Status.READY).update(group=groups.public_group())

    body = api.get("/api/v2/public/instance_types").json()
    metas = {m["InstanceType"]: m for m in body["InstanceMetas"]}
    assert len(metas) == 14 and body["RequestId"]
    assert metas[GPU_TYPE].items() >= {"CPU": 8, "Memory": 31, "GPU": "Tesla T4", "GPUAmount": 1, "GPUMemory": 16,
                                       "StockStatus": "WithStock", "IsAvailable": True, "AvailableCount": 1,
                                       "ChargeTypes": ["PrePaid", "PostPaid"], "PrePaidMonthPrice": "5600.0000"}.items()
    assert metas[PREPAID_TYPE]["StockStatus"] == "NoStock" and metas[POSTPAID_TYPE]["GPU"] is None
    assert body["Types"][0] == {"CPU": 1, "Memory": [4096]} and len(body["Types"]) == 100

    only = api.get("/api/v2/public/instance_types", {"InstanceTypes": f"{GPU_TYPE},{POSTPAID_TYPE}"}).json()
    assert {m["InstanceType"] for m in only["InstanceMetas"]} == {GPU_TYPE, POSTPAID_TYPE}


@pytest.mark.django_db
def test_one_public_group_per_region_and_resolving_a_service_resource(tenant, other_tenant, prices, run_tasks):
    public = groups.public_group("cn-shanghai")
    assert groups.public_group() == public and public.is_public and public.is_running
    assert groups.public_group("cn-beijing") != public
    with pytest.raises(InvalidParameter):
        groups.public_group("moon-1")

    add_machine(POSTPAID_TYPE)
    dedicated = run_tasks(orders.buy, tenant, region="cn-shanghai", charge_type="PostPaid",
                          machine_type=POSTPAID_TYPE, count=1).group
    assert groups.resolve_group(tenant, "cn-shanghai", "") == public
    assert groups.resolve_group(tenant, "cn-shanghai", dedicated.group_id).pk == dedicated.pk
    with pytest.raises(NotFound):
        groups.resolve_group(other_tenant, "cn-shanghai", dedicated.group_id)
    with pytest.raises(NotFound):
        groups.resolve_group(tenant, "cn-beijing", dedicated.group_id)


@pytest.mark.django_db
def test_public_group_refuses_custom_processors_blade_and_gpus(tenant, prices, run_tasks):
    public = groups.public_group()
    policy.check_service_allowed(public, "tensorflow_cpu_1.15")
    policy.check_service_allowed(public, "pmml")
    for kind, gpu in ((policy.CUSTOM_PROCESSOR, 0), ("blade_cpu", 0), ("tensorflow_gpu_1.15", 0), ("pmml", 1)):
        with pytest.raises(InvalidParameter):
            policy.check_service_allowed(public, kind, gpu=gpu)

    add_machine(POSTPAID_TYPE)
    dedicated = ResourceGroup.objects.get(pk=run_tasks(
        orders.buy, tenant, region="cn-shanghai", charge_type="PostPaid", machine_type=POSTPAID_TYPE, count=1,
    ).group_id)
    policy.check_service_allowed(dedicated, policy.CUSTOM_PROCESSOR, gpu=1)
    dedicated.status = ResourceGroup.Status.STOPPED
    with pytest.raises(ApiError, match="Stopped"):
        policy.check_service_allowed(dedicated, "pmml")


@pytest.mark.parametrize("quota, resources", [(1, (1, 4096)), (100, (100, 409600))])
def test_quota_is_one_core_and_four_gigabytes(quota, resources):
    assert policy.quota_resources(quota) == resources


@pytest.mark.parametrize("quota", [0, 101, 2.5, True, "4"])
def test_quota_outside_1_to_100_is_refused(quota):
    with pytest.raises(InvalidParameter, match="Quota must be"):
        policy.quota_resources(quota)
