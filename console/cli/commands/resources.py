"""`eascmd resource ls | desc | li | network`: the caller's dedicated resource groups, on the
EAS 2021-07-01 resource API (ListResources, DescribeResource + DescribeResourceDLink,
ListResourceInstances, Create/Update/DeleteResourceDLink)."""
import json

from console.cli import tables
from console.cli.client import EasClient
from console.cli.commands import UsageError, print_request_id, read_json_file
from console.cli.commands.services import list_all

NETWORK_ACTIONS = {"create": "POST", "update": "PUT", "delete": "DELETE"}


def group_path(client: EasClient, resource_id: str) -> str:
    return f"/resources/{client.region}/{resource_id}"


def list_resources(args, session) -> int:
    groups, _ = list_all(session.client, "/resources", "Resources")
    rows = [[g.get("ResourceId"), g.get("ResourceName"), g.get("ClusterId"), g.get("InstanceCount"),
             g.get("GpuCount"), g.get("CpuCount"), g.get("OwnerUid", ""), tables.local_time(g.get("CreateTime")),
             g.get("Status")] for g in groups]
    print(tables.render(rows, ["RESOURCEID", "RESOURCENAME", "CLUSTERID", "INSTANCECOUNT", "GPUCOUNT",
                               "CPUCOUNT", "OWNERUID", "CREATETIME", "STATUS"]))
    return 0


def extra_data(group: dict) -> dict:
    """ExtraData is a JSON string in DescribeResource (the SDK's model says so)."""
    value = group.get("ExtraData") or {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def desc(args, session) -> int:
    client = session.client
    path = group_path(client, args.resource_id)
    group = client.call("GET", path)
    link = client.call("GET", f"{path}/dlink")
    extra = extra_data(group)
    basic = [
        ("ResourceId", group.get("ResourceId")), ("ResourceName", group.get("ResourceName")),
        ("Region", group.get("ClusterId")), ("OwnerUid", group.get("OwnerUid")),
        ("ChargeType", extra.get("ChargeType")), ("InstanceType", extra.get("InstanceType")),
        ("CpuCount", group.get("CpuCount")), ("CpuUsed", group.get("CpuUsed")),
        ("GpuCount", group.get("GpuCount")), ("GpuUsed", group.get("GpuUsed")),
        ("Memory", f"{group.get('Memory', 0)}M"), ("MemoryUsed", f"{group.get('MemoryUsed', 0)}M"),
        ("InstanceCount", group.get("InstanceCount")), ("CreateTime", tables.local_time(group.get("CreateTime"))),
        ("ExpiredTime", tables.local_time(extra.get("ExpiredTime"))), ("LastStatus", group.get("Status")),
        ("Message", group.get("Message")),
    ]
    network = [
        ("VpcId", link.get("VpcId")), ("VSwitchId", link.get("VSwitchId")),
        ("SecurityGroupId", link.get("SecurityGroupId")), ("DestinationCIDR", link.get("DestinationCIDRs")),
        ("AuxVSwitchList", json.dumps(link.get("AuxVSwitchList") or [])),
    ]
    rows = [["Basic" if i == 0 else "", k, v] for i, (k, v) in enumerate(basic)]
    rows.append(tables.SEPARATOR)
    rows += [["Network" if i == 0 else "", k, v] for i, (k, v) in enumerate(network)]
    print(tables.render(rows))
    return 0


def list_instances(args, session) -> int:
    client = session.client
    machines, _ = list_all(client, f"{group_path(client, args.resource_id)}/instances", "Instances")
    rows = [[m.get("InstanceName"), m.get("InstanceId"), m.get("InstanceIp"), m.get("InstanceStatus"),
             f"{m.get('InstanceCpuCount', 0)}/{m.get('InstanceUsedCpu', 0)}",
             f"{m.get('InstanceGpuCount', 0)}/{m.get('InstanceUsedGpu', 0)}",
             f"{m.get('InstanceMemory', '')}/{m.get('InstanceUsedMemory', '')}",
             tables.local_time(m.get("CreateTime")), m.get("InstanceType"), m.get("ChargeType")]
            for m in machines]
    print(tables.render(rows, ["INSTANCENAME", "INSTANCEID", "INSTANCEIP", "STATUS", "TOTAL/USED CPU",
                               "TOTAL/USED GPU", "TOTAL/USED MEMORY", "CREATETIME", "INSTANCETYPE",
                               "CHARGETYPE"]))
    return 0


def network(args, session) -> int:
    """The seeds' network.json: `Action` create or delete (update changes an existing link), plus
    VSwitchId, SecurityGroupId, VSwitchIdList and DestinationCIDR."""
    _, config = read_json_file(args.network_json)
    action = str(config.pop("Action", "")).lower()
    if action not in NETWORK_ACTIONS:
        raise UsageError(f"{args.network_json}: Action must be one of {', '.join(NETWORK_ACTIONS)}")
    client = session.client
    path = f"{group_path(client, args.resource_id)}/dlink"
    method = NETWORK_ACTIONS[action]
    response = client.call(method, path) if method == "DELETE" else client.call(method, path, body=config)
    print_request_id(response)
    print(f"[OK] {response.get('Message', '')}")
    return 0


def register(subparsers, common) -> None:
    resource = subparsers.add_parser("resource", parents=[common], help="Resource groups: ls, desc, li, network.",
                                     description="Inspect your dedicated resource groups and set up their "
                                                 "VPC direct connection.")
    commands = resource.add_subparsers(dest="resource_command", required=True, metavar="<command>")

    def add(name, handler, help_text, aliases=()):
        parser = commands.add_parser(name, aliases=list(aliases), parents=[common], help=help_text,
                                     description=help_text)
        parser.set_defaults(handler=handler)
        return parser

    add("list", list_resources, "List your resource groups.", aliases=["ls"])
    add("desc", desc, "Show a resource group and its network.").add_argument("resource_id", help="eas-r-… id")
    add("list_instance", list_instances, "List the machines of a resource group and their usage.",
        aliases=["li"]).add_argument("resource_id", help="eas-r-… id")
    parser = add("network", network, "Create, update or delete the VPC direct connection of a resource group.")
    parser.add_argument("resource_id", help="eas-r-… id")
    parser.add_argument("-s", dest="network_json", required=True,
                        help='network configuration file: {"Action": "create"|"update"|"delete", '
                             '"VSwitchId", "SecurityGroupId", "VSwitchIdList", "DestinationCIDR"}')
