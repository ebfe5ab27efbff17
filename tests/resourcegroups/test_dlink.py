"""VPC direct connection of a dedicated group: validation, warnings, describe/update/delete (R7)."""
import pytest

from resourcegroups import orders
from resourcegroups.models import ResourceGroup
from tests.resourcegroups.conftest import POSTPAID_TYPE, add_machine

pytestmark = pytest.mark.django_db

VALID = {"VSwitchId": "vsw-8vbsunr5bkcbyxh94", "SecurityGroupId": "sg-8vbhwowdxzx5fjcx"}


@pytest.fixture
def url(tenant, prices, run_tasks):
    add_machine(POSTPAID_TYPE)
    order = run_tasks(orders.buy, tenant, region="cn-shanghai", charge_type="PostPaid",
                      machine_type=POSTPAID_TYPE, count=1)
    return f"/api/v2/resources/cn-shanghai/{order.resource_id}/dlink"


def test_create_describe_update_and_delete(api, url):
    empty = api.get(url).json()
    assert (empty["VSwitchId"], empty["AuxVSwitchList"], empty["DestinationCIDRs"]) == ("", [], "")

    body = {**VALID, "VpcId": "vpc-uf6s9pv47nu03srne", "VSwitchIdList": ["vsw-8xbsunr5abcbyqh93"],
            "DestinationCIDR": "192.168.0.0/16"}
    response = api.post(url, body, format="json")
    assert response.status_code == 200 and response.json()["Warnings"] == []
    group = ResourceGroup.objects.get()
    assert group.direct_connection_enabled
    assert api.get(url).json().items() >= {
        "VpcId": "vpc-uf6s9pv47nu03srne", "VSwitchId": VALID["VSwitchId"], "SecurityGroupId": VALID["SecurityGroupId"],
        "AuxVSwitchList": ["vsw-8xbsunr5abcbyqh93"], "DestinationCIDRs": "192.168.0.0/16"}.items()
    assert api.post(url, body, format="json").json()["Code"] == "DLinkExists"

    response = api.put(url, {"DestinationCIDRs": "172.16.0.0/12,10.224.0.0/16"}, format="json")
    assert response.status_code == 200
    warnings = response.json()["Warnings"]
    assert len(warnings) == 1 and "10.0.0.0/8, 10.224.0.0/16" in warnings[0]
    assert "Warning:" in response.json()["Message"]
    assert api.get(url).json()["VSwitchId"] == VALID["VSwitchId"]  # left out: kept

    assert api.delete(url).status_code == 200
    assert not group.direct_connection_enabled
    assert api.delete(url).json()["Code"] == "DLinkNotFound"


@pytest.mark.parametrize("cidr, warned", [
    ("10.0.0.0/8", ["10.0.0.0/8"]),
    ("10.240.1.0/24", ["10.0.0.0/8", "10.240.0.0/16"]),
    ("10.1.0.0/16", ["10.0.0.0/8"]),
    ("192.168.10.0/24", []),
])
def test_cidrs_that_meet_the_eas_network_are_warned_about(api, url, cidr, warned):
    response = api.post(url, {**VALID, "DestinationCIDR": cidr}, format="json")
    assert response.status_code == 200
    warnings = response.json()["Warnings"]
    assert bool(warnings) == bool(warned) and all(net in warnings[0] for net in warned)


@pytest.mark.parametrize("change, code", [
    ({"VSwitchId": "vpc-123456789"}, "InvalidParameter.VSwitchId"),
    ({"VSwitchId": None}, "InvalidParameter.VSwitchId"),
    ({"SecurityGroupId": "sg_bad"}, "InvalidParameter.SecurityGroupId"),
    ({"VSwitchIdList": ["vsw-8xbsunr5abcbyqh93", "subnet-1"]}, "InvalidParameter.VSwitchIdList"),
    ({"VSwitchIdList": [1, 2]}, "InvalidParameter.VSwitchIdList"),
    ({"DestinationCIDR": "192.168.1.1/16"}, "InvalidParameter.DestinationCIDR"),
    ({"DestinationCIDR": "192.168.0.0/33"}, "InvalidParameter.DestinationCIDR"),
    ({"DestinationCIDRs": "not-a-network"}, "InvalidParameter.DestinationCIDR"),
    ({"VpcId": "vpc!"}, "InvalidParameter.VpcId"),
])
def test_invalid_configurations_are_refused(api, url, change, code):
    response = api.post(url, {**VALID, **change}, format="json")
    assert response.status_code == 400 and response.json()["Code"] == code
    assert not ResourceGroup.objects.get().direct_connection_enabled
