"""Real processes: node agents joining through the broker and a control worker, orders processed by
that worker, and the official SDK driving the resource API of a real web process."""
import signal
import time
from urllib.parse import urlsplit

import pytest
from alibabacloud_eas20210701 import models as sdk
from alibabacloud_eas20210701.client import Client
from alibabacloud_tea_openapi.models import Config
from rest_framework.test import APIClient

from console.celery import app as celery_app
from console.iam import accesskeys
from resourcegroups import fleet
from resourcegroups.models import Machine, Order, ResourceGroup
from tests import harness
from tests.resourcegroups.conftest import POSTPAID_TYPE, PREPAID_TYPE, add_machine

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT_SECONDS = 1.0
AGENT_SPECS = {
    "rg-gpu": ["--cpu", "8", "--memory", "31744", "--gpu", "1", "--gpu-type", "Tesla T4", "--pool", "free"],
    "rg-cpu": ["--cpu", "24", "--memory", "49152", "--gpu", "0", "--gpu-type", "", "--machine-type", PREPAID_TYPE],
    "rg-small": ["--cpu", "2", "--memory", "4096", "--gpu", "0", "--gpu-type", ""],
}


@pytest.fixture
def start_agent(control_worker, process_log_dir):
    """Start `manage.py nodeagent` processes that heartbeat every second; all are stopped after the test."""
    started = []

    def start(name: str, *args: str) -> harness.ManagedProcess:
        agent = harness.ManagedProcess(
            f"agent-{name}", [harness.PYTHON, "manage.py", "nodeagent", "--name", name, "--ip", "127.0.0.1", *args],
            harness.process_env(EAS_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS)), process_log_dir,
        ).start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def wait_for_machines(agents: dict, condition, message: str, timeout: float = 60):
    def check():
        for agent in agents.values():
            if not agent.alive():
                raise AssertionError(f"{agent.name} exited:\n{agent.output()[-3000:]}")
        return condition()
    return harness.wait_until(check, timeout, message)


def consumed_queues() -> dict[str, list[str]]:
    replies = celery_app.control.inspect(timeout=1).active_queues() or {}
    return {worker.split("@")[0]: [q["name"] for q in queues] for worker, queues in replies.items()}


def status_of(name: str) -> str:
    return Machine.objects.get(name=name).status


def test_agents_join_heartbeat_go_not_ready_and_recover(start_agent, settings):
    settings.EAS_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    agents = {name: start_agent(name, *args) for name, args in AGENT_SPECS.items()}
    wait_for_machines(agents, lambda: Machine.objects.filter(name__in=AGENT_SPECS).count() == 3, "agents joined")

    machines = {m.name: m for m in Machine.objects.select_related("group")}
    gpu = machines["rg-gpu"]
    assert (gpu.cpu, gpu.memory_mb, gpu.gpu, gpu.gpu_type, gpu.ip) == (8, 31744, 1, "Tesla T4", "127.0.0.1")
    assert gpu.shown_type == "ecs.gn6i-c8g1.2xlarge" and gpu.group is None
    assert machines["rg-cpu"].shown_type == PREPAID_TYPE and machines["rg-cpu"].group is None
    assert machines["rg-small"].group.is_public  # not for sale: the public group uses it

    joined = {name: m.last_heartbeat for name, m in machines.items()}
    wait_for_machines(agents, lambda: all(m.last_heartbeat > joined[m.name] and m.memory_used_mb > 0
                                          for m in Machine.objects.filter(name__in=AGENT_SPECS)),
                      "heartbeats with usage", timeout=15)
    queues = harness.wait_until(lambda: (q := consumed_queues()) and all(f"agent.{n}" in q for n in AGENT_SPECS)
                                and q, 30, "agents consume their queues")
    assert all(queues[f"agent.{name}"] == [f"node.{name}"] for name in AGENT_SPECS)

    agents["rg-cpu"].signal(signal.SIGKILL)
    killed = time.monotonic()
    harness.wait_until(lambda: "rg-cpu" in fleet.mark_unresponsive_machines() or status_of("rg-cpu") == "NotReady",
                       10, "killed agent marked NotReady", interval=0.05)
    assert time.monotonic() - killed <= 3 * HEARTBEAT_SECONDS + 1.0
    assert status_of("rg-gpu") == status_of("rg-small") == "Ready"

    agents["rg-gpu"].signal(signal.SIGSTOP)
    harness.wait_until(lambda: "rg-gpu" in fleet.mark_unresponsive_machines(), 10, "paused agent NotReady")
    agents["rg-gpu"].signal(signal.SIGCONT)
    harness.wait_until(lambda: status_of("rg-gpu") == "Ready", 10, "resumed heartbeats make it Ready")

    instance_id = Machine.objects.get(name="rg-cpu").instance_id
    agents["rg-cpu"] = start_agent("rg-cpu", *AGENT_SPECS["rg-cpu"])
    wait_for_machines(agents, lambda: status_of("rg-cpu") == "Ready", "restarted agent Ready")
    again = Machine.objects.get(name="rg-cpu")
    assert again.instance_id == instance_id and again.group is None


def test_orders_are_processed_by_the_control_worker(start_agent, tenant, prices, control_worker):
    agents = {"rg-sold": start_agent("rg-sold", *AGENT_SPECS["rg-cpu"])}
    wait_for_machines(agents, lambda: Machine.objects.filter(name="rg-sold").exists(), "agent joined")
    api = APIClient()
    api.force_authenticate(user=tenant.owner)
    body = {"ChargeType": "PrePaid", "EcsInstanceType": PREPAID_TYPE, "EcsInstanceCount": 1, "Period": 2}

    first = api.post("/api/v2/resources", body, format="json").json()
    second = api.post("/api/v2/resources", body, format="json").json()

    def order(created):
        url = f"/api/v2/resources/{created['ClusterId']}/{created['ResourceId']}/orders/{created['OrderId']}"
        return api.get(url).json()

    done = harness.wait_until(lambda: all(order(c)["Status"] != "Pending" for c in (first, second)) and
                              [order(c) for c in (first, second)], 30, "both orders processed")
    assert sorted(o["Status"] for o in done) == ["Completed", "Refunded"]
    winner = first if done[0]["Status"] == "Completed" else second
    loser = second if winner is first else first
    instances = api.get(f"/api/v2/resources/cn-shanghai/{winner['ResourceId']}/instances").json()["Instances"]
    assert [(i["InstanceName"], i["InstanceIp"], i["InstanceCpuCount"]) for i in instances] == [
        ("rg-sold", "127.0.0.1", 24)]
    assert "1 × ecs.c5.6xlarge requested, 0 available" in order(loser)["Reason"]
    assert ResourceGroup.objects.get(group_id=loser["ResourceId"]).status == ResourceGroup.Status.CREATE_FAILED
    assert "resourcegroups.process_order" in control_worker.output()


def sdk_client(base_url: str, account) -> Client:
    access_key, secret = accesskeys.create_access_key(account)
    return Client(Config(access_key_id=access_key.access_key_id, access_key_secret=secret,
                         endpoint=urlsplit(base_url).netloc, protocol="http", region_id="cn-shanghai",
                         read_timeout=10000, connect_timeout=5000))


def test_the_official_sdk_drives_the_resource_api(web_server, control_worker, tenant, prices):
    for _ in range(2):
        add_machine(POSTPAID_TYPE)
    client = sdk_client(web_server.base_url, tenant)

    created = client.create_resource(sdk.CreateResourceRequest(
        charge_type="PostPaid", ecs_instance_type=POSTPAID_TYPE, ecs_instance_count=1, resource_type="Dedicated",
    )).body
    assert created.resource_id.startswith("eas-r-") and created.owner_uid == tenant.uid
    rid = created.resource_id
    harness.wait_until(lambda: client.describe_resource("cn-shanghai", rid).body.status == "ResourceReady", 30,
                       "group ready")

    detail = client.describe_resource("cn-shanghai", rid).body
    assert (detail.instance_count, detail.cpu_count, detail.memory, detail.post_paid_instance_count) == (
        1, 16, 65536, 1)
    listed = client.list_resources(sdk.ListResourcesRequest(page_size=10)).body
    assert listed.total_count == 1 and listed.resources[0].resource_id == rid and listed.request_id
    client.update_resource("cn-shanghai", rid, sdk.UpdateResourceRequest(resource_name="sdk-group"))
    assert client.list_resources(sdk.ListResourcesRequest()).body.resources[0].resource_name == "sdk-group"

    client.create_resource_instances("cn-shanghai", rid, sdk.CreateResourceInstancesRequest(
        charge_type="PostPaid", ecs_instance_count=1, ecs_instance_type=POSTPAID_TYPE))
    harness.wait_until(lambda: client.describe_resource("cn-shanghai", rid).body.instance_count == 2, 30, "scaled")
    instances = client.list_resource_instances("cn-shanghai", rid, sdk.ListResourceInstancesRequest()).body
    assert instances.total_count == 2 and {i.instance_type for i in instances.instances} == {POSTPAID_TYPE}
    assert all(i.instance_status == "Ready" and i.charge_type == "PostPaid" for i in instances.instances)
    services = client.list_resource_services("cn-shanghai", rid, sdk.ListResourceServicesRequest()).body
    assert services.total_count == 0 and services.services == []

    spec = client.describe_machine_spec(sdk.DescribeMachineSpecRequest(instance_types=[POSTPAID_TYPE])).body
    assert [m.instance_type for m in spec.instance_metas] == [POSTPAID_TYPE]
    assert spec.instance_metas[0].stock_status == "NoStock" and spec.types[0].cpu == 1

    assert client.describe_resource_dlink("cn-shanghai", rid).body.v_switch_id == ""
    client.update_resource_dlink("cn-shanghai", rid, sdk.UpdateResourceDLinkRequest(
        v_switch_id="vsw-8vbsunr5bkcbyxh94", security_group_id="sg-8vbhwowdxzx5fjcx",
        v_switch_id_list=["vsw-8xbsunr5abcbyqh93"], destination_cidrs="192.168.0.0/16"))
    link = client.describe_resource_dlink("cn-shanghai", rid).body
    assert (link.v_switch_id, link.aux_vswitch_list, link.destination_cidrs) == (
        "vsw-8vbsunr5bkcbyxh94", ["vsw-8xbsunr5abcbyqh93"], "192.168.0.0/16")
    client.delete_resource_dlink("cn-shanghai", rid)

    ids = ",".join(i.instance_id for i in instances.instances)
    client.delete_resource_instances("cn-shanghai", rid, sdk.DeleteResourceInstancesRequest(instance_list=ids))
    assert client.describe_resource("cn-shanghai", rid).body.status == "Stopped"
    assert client.delete_resource("cn-shanghai", rid).body.request_id
    assert not ResourceGroup.objects.filter(group_id=rid).exists()
    assert Order.objects.filter(resource_id=rid).count() == 3
