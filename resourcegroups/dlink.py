"""VPC direct connection of dedicated groups (R7, seed 5.4 and `eascmd resource network`).

The configuration names the user's main vSwitch and security group, extra vSwitches and
destination CIDR blocks to route. CIDR blocks overlapping the networks the seeds warn about
(10.0.0.0/8, 10.224.0.0/16, 10.240.0.0/16) are accepted with a warning. While a group has a
direct connection, the gateway lets clients reach its instances directly.
"""
import ipaddress
import re

from django.db import transaction

from console.iam.errors import Conflict, InvalidParameter, NotFound
from resourcegroups.models import DirectLink, ResourceGroup

VSWITCH_RE = re.compile(r"^vsw-[a-z0-9]{6,32}$")
SECURITY_GROUP_RE = re.compile(r"^sg-[a-z0-9]{6,32}$")
VPC_RE = re.compile(r"^vpc-[a-z0-9]{6,32}$")
CONFLICTING_NETWORKS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "10.224.0.0/16", "10.240.0.0/16")]


def _id(value, pattern: re.Pattern, field: str, example: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidParameter(f"{field} {value!r} is not an id like {example}.", code=f"InvalidParameter.{field}")
    return value


def _list(value, field: str) -> list[str]:
    """A JSON list, or a comma-separated string as the SDK's query style sends it."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise InvalidParameter(f"{field} must be a list of strings.", code=f"InvalidParameter.{field}")


def _cidrs(values: list[str]) -> list[str]:
    cidrs = []
    for value in values:
        try:
            cidrs.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError as exc:
            raise InvalidParameter(f"DestinationCIDR {value!r} is not a CIDR block: {exc}.",
                                   code="InvalidParameter.DestinationCIDR") from None
    return cidrs


def warnings_for(cidrs: list[str]) -> list[str]:
    warnings = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        clashes = [str(n) for n in CONFLICTING_NETWORKS if network.version == n.version and network.overlaps(n)]
        if clashes:
            warnings.append(f"{cidr} overlaps {', '.join(clashes)}, which the EAS network uses; "
                            "the connection may conflict with it.")
    return warnings


def parse(data: dict, current: DirectLink | None = None) -> dict:
    """Validated fields from a request body; those left out keep `current`'s values."""
    fields = {}
    if "VSwitchId" in data or current is None:
        fields["vswitch_id"] = _id(data.get("VSwitchId"), VSWITCH_RE, "VSwitchId", "vsw-8vbsunr5bkcbyxh94")
    if "SecurityGroupId" in data or current is None:
        fields["security_group_id"] = _id(data.get("SecurityGroupId"), SECURITY_GROUP_RE, "SecurityGroupId",
                                          "sg-8vbhwowdxzx5fjcx")
    if data.get("VpcId"):
        fields["vpc_id"] = _id(data["VpcId"], VPC_RE, "VpcId", "vpc-uf6s9pv47nu03srne")
    if "VSwitchIdList" in data:
        fields["aux_vswitch_ids"] = [_id(v, VSWITCH_RE, "VSwitchIdList", "vsw-8xbsunr5abcbyqh93")
                                     for v in dict.fromkeys(_list(data["VSwitchIdList"], "VSwitchIdList"))]
    cidr_key = next((k for k in ("DestinationCIDRs", "DestinationCIDR") if k in data), None)
    if cidr_key:
        fields["destination_cidrs"] = _cidrs(_list(data[cidr_key], cidr_key))
    return fields


def _check_group(group: ResourceGroup) -> None:
    if group.is_public:
        raise InvalidParameter("VPC direct connection is available on dedicated resource groups only.",
                               code="InvalidParameter.ResourceId")
    if group.status not in (ResourceGroup.Status.READY, ResourceGroup.Status.STOPPED):
        raise Conflict(f"The resource group is {group.status}.", code="ResourceNotReady")


def find(group: ResourceGroup) -> DirectLink:
    link = DirectLink.objects.filter(group=group).first()
    if link is None:
        raise NotFound(f"Resource group {group.group_id} has no VPC direct connection.", code="DLinkNotFound")
    return link


@transaction.atomic
def create(group: ResourceGroup, data: dict) -> tuple[DirectLink, list[str]]:
    _check_group(group)
    if DirectLink.objects.filter(group=group).exists():
        raise Conflict(f"Resource group {group.group_id} already has a VPC direct connection.",
                       code="DLinkExists")
    link = DirectLink.objects.create(group=group, **parse(data))
    return link, warnings_for(link.destination_cidrs)


@transaction.atomic
def update(group: ResourceGroup, data: dict) -> tuple[DirectLink, list[str]]:
    """Change the connection; a group without one gets one (the SDK offers only UpdateResourceDLink)."""
    _check_group(group)
    link = DirectLink.objects.filter(group=group).first()
    if link is None:
        return create(group, data)
    for name, value in parse(data, link).items():
        setattr(link, name, value)
    link.save()
    return link, warnings_for(link.destination_cidrs)


def delete(group: ResourceGroup) -> None:
    find(group).delete()
