"""The deployment engine end to end: API → reconciler (worker) → node agents → instances."""
import os
import signal

import httpx
import pytest

from services.models import Instance, Service, UsagePoint
from tests import harness
from tests.services.conftest import create_service, describe, events, instances, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)


def echo_description(processor_dir, group, *, name="echo", instance=1, tag="v1", cpu=1):
    return {
        "name": name, "processor_type": "python", "processor_entry": "app.py",
        "processor_path": str(processor_dir), "model_config": tag,
        "metadata": {"instance": instance, "cpu": cpu, "memory": 512, "resource": group.group_id},
    }


def call(instance: dict, body: bytes = b"hello", token: str | None = None) -> str:
    """An instance's answer, called directly (as in VPC direct mode) with its service's token."""
    token = token if token is not None else Service.objects.get(instances__name=instance["InstanceName"]).token
    response = httpx.post(f"http://{instance['InnerIP']}:{instance['InstancePort']}/", content=body,
                          headers={"Authorization": token}, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def answers(client, name) -> list[str]:
    """What every instance of the service answers now (Running or not)."""
    result = []
    for instance in instances(client, name):
        try:
            result.append(call(instance) if instance["Status"] == "Running" else instance["Status"])
        except (httpx.HTTPError, AssertionError) as exc:
            result.append(f"error: {exc}")
    return result


def running_names(client, name) -> set[str]:
    return {i["InstanceName"] for i in instances(client, name) if i["Status"] == "Running"}


def test_create_scale_update_switch_stop_start_delete(tenant, dedicated_group, start_agent, echo_processor,
                                                      fleet_beat):
    start_agent("node-a")
    start_agent("node-b")
    created = create_service(tenant, echo_description(echo_processor, dedicated_group, instance=2))
    assert created["ServiceName"] == "echo"
    assert created["InternetEndpoint"].endswith("/api/predict/echo")

    service = wait_for_status(tenant, "echo", "Running", running=2)
    assert (service["CurrentVersion"], service["LatestVersion"]) == (1, 1)
    first = instances(tenant, "echo")
    assert {i["HostName"] for i in first} == {"node-a", "node-b"}, "instances are spread over machines"
    assert [call(i) for i in first] == ["v1:hello", "v1:hello"]
    direct = f"http://{first[0]['InnerIP']}:{first[0]['InstancePort']}/api/predict/echo"
    assert httpx.post(direct, content=b"hello", timeout=10).status_code == 401, "direct calls need the token"
    assert httpx.post(direct, content=b"hello", headers={"Authorization": "wrong"}, timeout=10).status_code == 401
    answer = httpx.post(direct, content=b"hello", headers={"Authorization": service["AccessToken"]}, timeout=10)
    assert (answer.status_code, answer.text) == (200, "v1:hello")
    lines = events(tenant, "echo")
    assert "[OK] Waiting [Total: 2, Pending: 2, Running: 0]" in lines
    assert lines[-1] == "[OK] Service is running"

    # Scaling touches only metadata.instance: the running instances stay.
    before = running_names(tenant, "echo")
    tenant.put("/api/v2/services/cn-shanghai/echo", data='{"metadata": {"instance": 3}}',
               content_type="application/json")
    wait_for_status(tenant, "echo", "Running", running=3)
    assert before < running_names(tenant, "echo")
    assert describe(tenant, "echo")["LatestVersion"] == 1
    tenant.put("/api/v2/services/cn-shanghai/echo", data='{"metadata": {"instance": 1}}',
               content_type="application/json")
    wait_for_status(tenant, "echo", "Running", running=1)
    harness.wait_until(lambda: len(instances(tenant, "echo")) == 1, 30, "scale-in left extra instances")

    # A new model config is a new version, rolled out instance by instance.
    tenant.put("/api/v2/services/cn-shanghai/echo", data='{"model_config": "v2"}', content_type="application/json")
    harness.wait_until(lambda: describe(tenant, "echo")["CurrentVersion"] == 2
                       and answers(tenant, "echo") == ["v2:hello"], 90,
                       lambda: f"v2 not rolled out: {answers(tenant, 'echo')}")
    assert describe(tenant, "echo")["LatestVersion"] == 2

    tenant.put("/api/v2/services/cn-shanghai/echo/version", data='{"Version": 1}', content_type="application/json")
    harness.wait_until(lambda: answers(tenant, "echo") == ["v1:hello"], 90,
                       lambda: f"did not switch back to v1: {answers(tenant, 'echo')}")
    versions = tenant.get("/api/v2/services/cn-shanghai/echo/versions").json()["Versions"]
    assert [v["ImageId"] for v in versions] == [2, 1]

    tenant.put("/api/v2/services/cn-shanghai/echo/stop")
    wait_for_status(tenant, "echo", "Stopped")
    assert instances(tenant, "echo") == []
    tenant.put("/api/v2/services/cn-shanghai/echo/start")
    wait_for_status(tenant, "echo", "Running", running=1)
    assert [call(i) for i in instances(tenant, "echo")] == ["v1:hello"]

    last = instances(tenant, "echo")[0]
    harness.wait_until(lambda: UsagePoint.objects.filter(service="echo").exists(), 30, "no usage sampled")
    assert tenant.delete("/api/v2/services/cn-shanghai/echo").status_code == 200
    assert tenant.get("/api/v2/services/cn-shanghai/echo").status_code == 404
    assert not UsagePoint.objects.filter(service="echo").exists(), "a new 'echo' must not inherit its charts"

    def port_closed():
        try:
            httpx.post(f"http://127.0.0.1:{last['InstancePort']}/", content=b"x", timeout=1)
        except httpx.HTTPError:
            return True
        return False

    harness.wait_until(port_closed, 30, "the deleted service's instance still answers")


def test_broken_version_is_rolled_back_and_old_one_keeps_serving(tenant, dedicated_group, start_agent,
                                                                  echo_processor):
    start_agent("node-a")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="stable"))
    wait_for_status(tenant, "stable", "Running", running=1)
    serving = instances(tenant, "stable")[0]

    tenant.put("/api/v2/services/cn-shanghai/stable", data='{"model_config": "crash"}',
               content_type="application/json")
    harness.wait_until(lambda: any("rolled back to version 1" in line for line in events(tenant, "stable")), 120,
                       lambda: "no rollback:\n" + "\n".join(events(tenant, "stable")[-10:]))
    service = wait_for_status(tenant, "stable", "Running", running=1)
    assert (service["CurrentVersion"], service["LatestVersion"]) == (1, 2)
    assert "failed to start" in service["Message"]
    assert [i["InstanceName"] for i in instances(tenant, "stable")] == [serving["InstanceName"]]
    assert call(serving) == "v1:hello"


def test_killed_instance_is_restarted(tenant, dedicated_group, start_agent, echo_processor):
    start_agent("node-a")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="phoenix"))
    wait_for_status(tenant, "phoenix", "Running", running=1)
    instance = Instance.objects.get(service__name="phoenix")
    os.kill(_pid_listening_on(instance.port), signal.SIGKILL)

    harness.wait_until(lambda: instances(tenant, "phoenix")[0]["RestartCount"] >= 1, 30, "restart not reported")
    wait_for_status(tenant, "phoenix", "Running", running=1)
    assert call(instances(tenant, "phoenix")[0]) == "v1:hello"
    assert any("restarting" in line for line in events(tenant, "phoenix"))


def test_instances_move_off_a_lost_machine(tenant, dedicated_group, start_agent, echo_processor, fleet_beat):
    doomed = start_agent("node-a")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="mover"))
    wait_for_status(tenant, "mover", "Running", running=1)
    assert instances(tenant, "mover")[0]["HostName"] == "node-a"

    start_agent("node-b")
    doomed.signal(signal.SIGKILL)
    harness.wait_until(lambda: instances(tenant, "mover") and instances(tenant, "mover")[0]["HostName"] == "node-b"
                       and instances(tenant, "mover")[0]["Status"] == "Running", 90,
                       lambda: f"instance not moved: {instances(tenant, 'mover')}")
    assert call(instances(tenant, "mover")[0]) == "v1:hello"
    assert any("lost with machine [node-a]" in line for line in events(tenant, "mover"))


def test_waits_for_room_then_starts(tenant, dedicated_group, start_agent, echo_processor, fleet_beat):
    start_agent("node-small", cpu=1)
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="big", cpu=2))
    harness.wait_until(lambda: describe(tenant, "big")["Status"] == "Waiting", 30, "not waiting for room")
    assert "[OK] Waiting [Total: 1, Pending: 1, Running: 0]" in events(tenant, "big")

    start_agent("node-large", cpu=4)
    wait_for_status(tenant, "big", "Running", running=1)
    assert instances(tenant, "big")[0]["HostName"] == "node-large"


def _pid_listening_on(port: int) -> int:
    import psutil

    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
            return connection.pid
    raise AssertionError(f"nothing listens on {port}")


def test_deployment_completes_after_the_control_worker_is_killed(tenant, dedicated_group, start_agent,
                                                                 echo_processor, fleet_beat, control_worker):
    start_agent("node-a")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="resilient", instance=2))
    control_worker.signal(signal.SIGKILL)  # mid-deployment: reconcile and agent reports are in flight
    control_worker.process.wait(10)
    control_worker.start()
    wait_for_status(tenant, "resilient", "Running", running=2)
    assert answers(tenant, "resilient") == ["v1:hello", "v1:hello"]


def test_agents_sample_instance_usage_for_the_charts(tenant, dedicated_group, start_agent, echo_processor):
    from datetime import timedelta

    from django.utils import timezone

    from services.monitoring.usage import usage_series

    start_agent("node-a")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="watched", instance=2))
    wait_for_status(tenant, "watched", "Running", running=2)
    harness.wait_until(lambda: UsagePoint.objects.filter(service="watched").values("instance").distinct().count() == 2,
                       30, "no usage samples from the agent")
    sample = UsagePoint.objects.filter(service="watched").first()
    assert sample.memory_mb > 10 and sample.cpu_cores >= 0
    series = usage_series("watched", timezone.now() - timedelta(minutes=5))
    assert series and max(point["instances"] for point in series) == 2
    assert max(point["memory_mb"] for point in series) > sample.memory_mb
