"""The unmodified official control-plane SDK (`alibabacloud-eas20210701`) against the live platform:
every call eascmd relies on, with the response fields the SDK's models read."""
import json
import re
from urllib.parse import urlsplit

import pytest
from alibabacloud_eas20210701 import models
from alibabacloud_eas20210701.client import Client
from alibabacloud_tea_openapi.models import Config

from tests import harness
from tests.runtime.models import PMML_REGRESSION

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(240)]

REGION = "cn-shanghai"


@pytest.fixture
def sdk(platform) -> Client:
    return Client(Config(access_key_id=platform.access_key_id, access_key_secret=platform.secret,
                         endpoint=urlsplit(platform.base_url).netloc, protocol="http", region_id=REGION,
                         read_timeout=30000, connect_timeout=5000))


def wait_for(sdk: Client, name: str, **expected) -> models.Service:
    """Poll DescribeService (through the SDK) until every attribute in `expected` holds."""
    def reached():
        body = sdk.describe_service(REGION, name).body
        return body if all(getattr(body, k) == v for k, v in expected.items()) else None

    return harness.wait_until(reached, 90, lambda: f"{name} never had {expected}: "
                              f"{sdk.describe_service(REGION, name).body.to_map()}", interval=0.3)


def test_service_lifecycle_through_the_sdk(sdk, platform, tmp_path):
    for version, intercept in (("v1", "1.5"), ("v2", "2.5")):
        (tmp_path / f"{version}.pmml").write_text(PMML_REGRESSION.replace('intercept="1.5"', f'intercept="{intercept}"'))
    description = {"name": "sdk_pmml", "processor": "pmml", "model_path": str(tmp_path / "v1.pmml"),
                   "metadata": {"instance": 1, "cpu": 1}}

    created = sdk.create_service(models.CreateServiceRequest(body=json.dumps(description))).body
    assert (created.service_name, created.region, created.status) == ("sdk_pmml", REGION, "Creating")
    assert created.service_id and created.request_id
    assert created.internet_endpoint.endswith("/api/predict/sdk_pmml") and created.intranet_endpoint

    service = wait_for(sdk, "sdk_pmml", status="Running", running_instance=1)
    assert (service.service_name, service.region, service.total_instance, service.pending_instance) == (
        "sdk_pmml", REGION, 1, 0)
    assert (service.cpu, service.gpu, service.image, service.resource) == (1, 0, "pmml", "public")
    assert (service.current_version, service.latest_version, service.weight) == (1, 1, 100)
    assert service.access_token and service.caller_uid == platform.account.uid
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", service.create_time)
    assert json.loads(service.service_config)["model_path"] == str(tmp_path / "v1.pmml")

    listed = sdk.list_services(models.ListServicesRequest(page_size=10)).body
    assert "sdk_pmml" in [s.service_name for s in listed.services]
    assert (listed.page_number, listed.page_size) == (1, 10) and listed.total_count >= 1

    instances = sdk.list_service_instances(REGION, "sdk_pmml", models.ListServiceInstancesRequest()).body
    assert instances.total_count == 1
    instance = instances.instances[0]
    assert (instance.status, instance.host_name, instance.inner_ip) == ("Running", "cli-public", "127.0.0.1")
    assert instance.instance_port > 0 and instance.instance_name.startswith("sdk_pmml")

    updated = sdk.update_service(REGION, "sdk_pmml", models.UpdateServiceRequest(
        body=json.dumps({"model_path": str(tmp_path / "v2.pmml")}))).body
    assert updated.request_id and "sdk_pmml" in updated.message
    wait_for(sdk, "sdk_pmml", status="Running", current_version=2, latest_version=2)
    versions = sdk.list_service_versions(REGION, "sdk_pmml", models.ListServiceVersionsRequest()).body
    assert [v.image_id for v in versions.versions] == [2, 1] and versions.total_count == 2
    assert json.loads(versions.versions[0].service_config)["model_path"] == str(tmp_path / "v2.pmml")

    switched = sdk.update_service_version(REGION, "sdk_pmml", models.UpdateServiceVersionRequest(version=1)).body
    assert "version 1" in switched.message
    wait_for(sdk, "sdk_pmml", status="Running", current_version=1, running_instance=1)

    assert "stopping" in sdk.stop_service(REGION, "sdk_pmml").body.message
    wait_for(sdk, "sdk_pmml", status="Stopped")
    assert "starting" in sdk.start_service(REGION, "sdk_pmml").body.message
    wait_for(sdk, "sdk_pmml", status="Running", running_instance=1)

    # The SDK creates no associated services (no Associate parameter): eascmd does, the SDK releases.
    (tmp_path / "sdk.json").write_text(json.dumps(description))
    associated = re.search(r"/api/predict/(sdk_pmml_[0-9a-f]{8})", platform.ok("create", str(tmp_path / "sdk.json"),
                                                                              "-r")).group(1)
    released = sdk.release_service(REGION, associated, models.ReleaseServiceRequest(weight=30)).body
    assert released.message == f"Service [{associated}] is weighted to 30% now"
    assert (sdk.describe_service(REGION, associated).body.weight,
            sdk.describe_service(REGION, associated).body.traffic_state) == (30, "released")

    for name in (associated, "sdk_pmml"):
        assert "deleted" in sdk.delete_service(REGION, name).body.message
    assert "sdk_pmml" not in [s.service_name for s in sdk.list_services(models.ListServicesRequest()).body.services]


def test_resource_group_calls_through_the_sdk(sdk, platform):
    listed = sdk.list_resources(models.ListResourcesRequest()).body
    group = next(r for r in listed.resources if r.resource_id == platform.group_id)
    assert (group.resource_name, group.cluster_id, group.resource_type) == ("cli-dedicated", REGION, "Dedicated")
    assert (group.cpu_count, group.instance_count, group.status) == (4, 1, "ResourceReady")
    assert isinstance(group.extra_data, dict)

    described = sdk.describe_resource(REGION, platform.group_id).body
    assert (described.resource_id, described.owner_uid, described.cpu_count, described.memory) == (
        platform.group_id, platform.account.uid, 4, 8192)
    assert json.loads(described.extra_data)["ChargeType"] == "PostPaid"

    machines = sdk.list_resource_instances(REGION, platform.group_id, models.ListResourceInstancesRequest()).body
    assert machines.total_count == 1
    machine = machines.instances[0]
    assert (machine.instance_name, machine.instance_status, machine.instance_cpu_count) == ("cli-dedicated", "Ready", 4)
    assert machine.instance_memory == "8192M" and machine.resource_id == platform.group_id


def test_catalogue_calls_through_the_sdk(sdk):
    regions = {r.region_id: r for r in sdk.describe_regions().body.regions}
    assert REGION in regions and regions[REGION].region_name
    spec = sdk.describe_machine_spec(models.DescribeMachineSpecRequest()).body
    assert spec.instance_metas and all(m.instance_type and m.cpu and m.memory for m in spec.instance_metas)
    assert spec.types[0].cpu == 1 and spec.types[0].memory == [4096]
