"""VPC direct connection: service discovery for services on dedicated groups with direct connection."""
import httpx
import pytest

from resourcegroups.models import ChargeType, DirectLink, ResourceGroup
from tests.gateway.conftest import create_service, unique_name, wait_routed

pytestmark = pytest.mark.django_db(transaction=True)
PATHS = ("/api/v1/servicediscovery/upstreams/{}", "/exported/apis/eas.alibaba-inc.k8s.io/v1/upstreams/{}")


def dedicated_group(account, direct: bool) -> ResourceGroup:
    group = ResourceGroup.objects.create(account=account, name=unique_name("group"), kind=ResourceGroup.Kind.DEDICATED,
                                         charge_type=ChargeType.POSTPAID, status=ResourceGroup.Status.READY)
    if direct:
        DirectLink.objects.create(group=group, vswitch_id="vsw-test", security_group_id="sg-test")
    return group


def discover(gateway, path: str, name: str) -> httpx.Response:
    return httpx.get(gateway.url + path.format(name), timeout=5)


def test_discovery_lists_healthy_instances_of_a_direct_group(gateway, account, upstream_pool):
    name = unique_name("direct")
    group = dedicated_group(account, direct=True)
    create_service(account, name, upstream_pool[:2], resource_group_id=group.group_id)
    wait_routed(gateway, name)
    for path in PATHS:
        response = discover(gateway, path, name)
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["correlative"] == [name]
        assert sorted(document["endpoints"]["items"], key=lambda item: item["port"]) == sorted([
            {"app": name.replace("_", "-"), "ip": "127.0.0.1", "port": u.port, "weight": 100}
            for u in upstream_pool[:2]], key=lambda item: item["port"])
    assert discover(gateway, PATHS[0] + "?internal=true", name).status_code == 200


def test_discovery_weights_follow_blue_green(gateway, account, upstream_pool):
    name = unique_name("directbg")
    group = dedicated_group(account, direct=True)
    create_service(account, name, upstream_pool[:2], resource_group_id=group.group_id)
    create_service(account, f"{name}_g", upstream_pool[2:], resource_group_id=group.group_id, origin_name=name,
                   released=True, traffic_weight=20)
    wait_routed(gateway, name)
    items = discover(gateway, PATHS[0], name).json()["endpoints"]["items"]
    assert sorted(item["weight"] for item in items) == [50, 100, 100]  # 80 % over two, 20 % on one


def test_discovery_is_refused_without_direct_connection(gateway, account, upstream_pool):
    public, plain = unique_name("public"), unique_name("nolink")
    create_service(account, public, upstream_pool[:1])
    create_service(account, plain, upstream_pool[:1], resource_group_id=dedicated_group(account, False).group_id)
    wait_routed(gateway, public)
    wait_routed(gateway, plain)
    for path in PATHS:
        refused = discover(gateway, path, public)
        assert refused.status_code == 403 and "dedicated resource group" in refused.json()["message"]
        refused = discover(gateway, path, plain)
        assert refused.status_code == 403 and "not enabled" in refused.json()["message"]
        assert discover(gateway, path, "no_such_service").status_code == 404
