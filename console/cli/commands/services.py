"""Service commands: create (and follow the deployment), modify, release, version, stop, start,
restart, delete, ls, desc, w, versions, events and logs, on the EAS 2021-07-01 service API."""
import json
import sys
import time

from console.cli import tables
from console.cli.client import ApiFailure, EasClient
from console.cli.commands import UsageError, print_request_id, read_json_file

POLL_SECONDS = 1.0
EVENTS_PAGE_SIZE = 100
LIST_PAGE_SIZE = 100
DEPLOYMENT_ENDS = ("Running", "Failed")


def service_path(client: EasClient, name: str) -> str:
    return f"/services/{client.region}/{name}"


def describe(client: EasClient, name: str) -> dict:
    return client.call("GET", service_path(client, name))


def new_events(client: EasClient, name: str, seen: int) -> list[dict]:
    """The service's events after the first `seen` ones, oldest first, across pages."""
    events: list[dict] = []
    while True:
        offset = seen + len(events)
        page = client.call("GET", f"{service_path(client, name)}/events",
                           {"PageNumber": offset // EVENTS_PAGE_SIZE + 1, "PageSize": EVENTS_PAGE_SIZE})
        items = page.get("Events") or []
        events += items[offset % EVENTS_PAGE_SIZE:]
        if len(items) < EVENTS_PAGE_SIZE:
            return events


def follow_deployment(client: EasClient, name: str) -> dict:
    """Print each new deployment event until the service is Running or Failed; its description.

    The status is read before the events: the event that goes with a status change is stored in
    the same transaction, so once the final status is seen the last fetch includes its line.
    """
    seen = 0
    while True:
        service = describe(client, name)
        events = new_events(client, name, seen)
        for event in events:
            print(event.get("Message", ""), flush=True)
        seen += len(events)
        if service.get("Status") in DEPLOYMENT_ENDS:
            return service
        time.sleep(POLL_SECONDS)


def list_all(client: EasClient, path: str, key: str) -> tuple[list[dict], str]:
    """Every item of a paged list, and the RequestId of its first page."""
    items: list[dict] = []
    request_id = ""
    number = 1
    while True:
        page = client.call("GET", path, {"PageNumber": number, "PageSize": LIST_PAGE_SIZE})
        request_id = request_id or page.get("RequestId", "")
        items += page.get(key) or []
        if not page.get(key) or len(items) >= int(page.get("TotalCount") or 0):
            return items, request_id
        number += 1


def parse_assignments(assignments: list[str]) -> dict:
    """`metadata.instance=10`-style assignments as a nested object; values are JSON when they
    parse as JSON (10, true, {"a": 1}) and text otherwise."""
    changes: dict = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise UsageError(f"-D{assignment}: expected -D<key>=<value>, e.g. -Dmetadata.instance=2")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        target = changes
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise UsageError(f"-D{assignment}: {part} is already given a plain value")
        target[parts[-1]] = value
    return changes


def merge(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else value
    return merged


# Commands -----------------------------------------------------------------------------------------

def create(args, session) -> int:
    text, _ = read_json_file(args.service_json)
    client = session.client
    created = client.call("POST", "/services", {"Associate": "true"} if args.related else None, text)
    name = created["ServiceName"]
    print_request_id(created)
    token = describe(client, name).get("AccessToken", "")
    print(tables.key_values([("Internet Endpoint", created.get("InternetEndpoint", "")),
                             ("Intranet Endpoint", created.get("IntranetEndpoint", "")),
                             ("Token", token)]), flush=True)
    try:
        service = follow_deployment(client, name)
    except KeyboardInterrupt:
        print(f"\nStopped following; the deployment goes on (see: eascmd events {name}).", file=sys.stderr)
        return 130
    if service.get("Status") == "Failed":
        raise ApiFailure("ServiceFailed", f"service {name} failed: {service.get('Message', '')}")
    return 0


def modify(args, session) -> int:
    changes = read_json_file(args.service_json)[1] if args.service_json else {}
    changes = merge(changes, parse_assignments(args.define or []))
    if not changes:
        raise UsageError("give the changes: -D<key>=<value> (several allowed) and/or -s <service_json>")
    client = session.client
    query = {"UpdateType": "replace"} if args.replace else None
    response = client.call("PUT", service_path(client, args.service_name), query, changes)
    print_request_id(response)
    print(f"[OK] {response.get('Message', '')}")
    return 0


def release(args, session) -> int:
    session.confirm(f"Confirmed to release this service at weight [{args.weight}%]?")
    client = session.client
    response = client.call("PUT", f"{service_path(client, args.service_name)}/release", body={"Weight": args.weight})
    print_request_id(response)
    print(f"[OK] {response.get('Message', '')}")
    return 0


def version(args, session) -> int:
    client = session.client
    response = client.call("PUT", f"{service_path(client, args.service_name)}/version",
                           body={"Version": args.version_id})
    print_request_id(response)
    print(f"[OK] {response.get('Message', '')}")
    return 0


def lifecycle(action: str):
    """stop / start / restart: one PUT each, answered with what is happening now."""

    def run(args, session) -> int:
        client = session.client
        response = client.call("PUT", f"{service_path(client, args.service_name)}/{action}")
        print_request_id(response)
        print(f"[OK] {response.get('Message', '')}")
        return 0

    return run


def delete(args, session) -> int:
    client = session.client
    session.confirm(f"Are you sure to delete the service [{args.service_name}] in [{client.region}]?")
    response = client.call("DELETE", service_path(client, args.service_name))
    print_request_id(response)
    print(f"[OK] {response.get('Message', '')}")
    return 0


def list_services(args, session) -> int:
    services, _ = list_all(session.client, "/services", "Services")
    rows = [[s.get("ServiceName"), s.get("Region"), f"{s.get('RunningInstance', 0)}/{s.get('TotalInstance', 0)}",
             s.get("Cpu"), f"{s.get('Memory', 0)}M", s.get("Gpu"), s.get("Resource"),
             f"v{s.get('CurrentVersion')}", s.get("Status"), tables.local_time(s.get("CreateTime"))]
            for s in services]
    print(tables.render(rows, ["SERVICENAME", "REGION", "INSTANCE", "CPU", "MEMORY", "GPU", "RESOURCE",
                               "VERSION", "STATUS", "CREATETIME"]))
    return 0


def pretty_config(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (TypeError, json.JSONDecodeError):
        return text or ""


def desc(args, session) -> int:
    s = describe(session.client, args.service_name)
    print(tables.key_values([
        ("Status", s.get("Status")), ("ServiceName", s.get("ServiceName")), ("Region", s.get("Region")),
        ("CreateTime", tables.local_time(s.get("CreateTime"))),
        ("UpdateTime", tables.local_time(s.get("UpdateTime"))),
        ("AccessToken", s.get("AccessToken")), ("TotalInstance", s.get("TotalInstance")),
        ("RunningInstance", s.get("RunningInstance")), ("PendingInstance", s.get("PendingInstance")),
        ("CPU", s.get("Cpu")), ("GPU", s.get("Gpu")), ("Memory", f"{s.get('Memory', 0)}M"),
        ("Image", s.get("Image")), ("Resource", s.get("Resource")), ("Weight", s.get("Weight")),
        ("LatestVersion", s.get("LatestVersion")), ("CurrentVersion", s.get("CurrentVersion")),
        ("Message", s.get("Message")), ("InternetEndpoint", s.get("InternetEndpoint")),
        ("IntranetEndpoint", s.get("IntranetEndpoint")), ("ServiceConfig", pretty_config(s.get("ServiceConfig"))),
    ]))
    return 0


def workers(args, session) -> int:
    client = session.client
    instances, request_id = list_all(client, f"{service_path(client, args.service_name)}/instances", "Instances")
    print_request_id({"RequestId": request_id})
    rows = [[i.get("InstanceName"), i.get("HostName"), i.get("InnerIP"), i.get("InstancePort"), i.get("Role"),
             i.get("Status"), f"{i.get('ReadyProcesses', 0)}/{i.get('TotalProcesses', 0)}", i.get("RestartCount"),
             tables.local_time(i.get("StartTime")), i.get("Reason")]
            for i in instances]
    print(tables.render(rows, ["INSTANCENAME", "HOST", "IP", "PORT", "VERSION", "STATUS", "READY",
                               "RESTARTS", "STARTTIME", "REASON"]))
    return 0


def versions(args, session) -> int:
    client = session.client
    items, _ = list_all(client, f"{service_path(client, args.service_name)}/versions", "Versions")
    rows = [[v.get("ImageId"), tables.local_time(v.get("BuildTime")), v.get("ServiceRunnable"),
             v.get("Message")] for v in items]
    print(tables.render(rows, ["VERSION", "BUILDTIME", "RUNNABLE", "MESSAGE"]))
    return 0


def events(args, session) -> int:
    for event in new_events(session.client, args.service_name, 0):
        print(f"{tables.local_time(event.get('Time'))} {event.get('Message', '')}")
    return 0


def logs(args, session) -> int:
    client = session.client
    response = client.call("GET", f"{service_path(client, args.service_name)}/logs",
                           {"InstanceName": args.instance, "PageSize": args.lines})
    print(f"[Instance]: {response.get('InstanceName', '')}")
    for line in response.get("Logs") or []:
        print(line)
    return 0


def register(subparsers, common) -> None:
    def add(name, handler, help_text, aliases=()):
        parser = subparsers.add_parser(name, aliases=list(aliases), parents=[common], help=help_text,
                                       description=help_text)
        parser.set_defaults(handler=handler)
        return parser

    def named(parser):
        parser.add_argument("service_name", help="service name")
        return parser

    parser = add("create", create, "Create a service from a service description (service.json) and follow "
                                    "its deployment until it is Running or Failed.")
    parser.add_argument("service_json", help="service description file")
    parser.add_argument("-r", dest="related", action="store_true",
                        help="create an associated service of the existing service with the same name "
                             "(blue-green release; it gets a random suffix)")

    parser = named(add("modify", modify, "Change a service: -D<key>=<value> for single fields (e.g. "
                                         "-Dmetadata.instance=3), -s <json> for a partial description."))
    parser.add_argument("-D", dest="define", action="append", metavar="KEY=VALUE",
                        help="set one field, dotted path, value parsed as JSON when possible (repeatable)")
    parser.add_argument("-s", dest="service_json", help="file with the fields to change")
    parser.add_argument("--replace", action="store_true",
                        help="replace the whole description instead of merging the changes into it")

    parser = named(add("release", release, "Send a percentage of the original service's traffic to an "
                                           "associated (blue-green) service."))
    parser.add_argument("-w", dest="weight", type=int, required=True, help="traffic weight in percent, 0-100")

    parser = named(add("version", version, "Switch a service to one of its versions (roll back or forward)."))
    parser.add_argument("version_id", type=int, help="version number, see `eascmd versions <name>`")

    named(add("stop", lifecycle("stop"), "Stop a service: its instances are released."))
    named(add("start", lifecycle("start"), "Start a stopped service."))
    named(add("restart", lifecycle("restart"), "Replace every instance of a service, one at a time."))
    named(add("delete", delete, "Delete a service (asks for confirmation; -y to skip)."))
    add("list", list_services, "List your services.", aliases=["ls"])
    named(add("desc", desc, "Show the details of a service."))
    named(add("showworkers", workers, "Show the instances (workers) of a service.", aliases=["w"]))
    named(add("versions", versions, "List the versions of a service."))
    named(add("events", events, "Show the deployment events of a service."))
    parser = named(add("logs", logs, "Show the latest log lines of one instance of a service."))
    parser.add_argument("-i", dest="instance", help="instance name (default: the newest instance)")
    parser.add_argument("-n", dest="lines", type=int, default=100, help="number of lines (default 100)")

