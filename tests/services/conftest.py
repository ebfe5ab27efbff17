"""A live fleet for deployment-engine tests: real worker, beat and node agents on the test DB."""
import json
import textwrap

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from console.iam.accounts import create_main_account
from resourcegroups.models import ChargeType, Machine, ResourceGroup
from tests import harness

ECHO_APP = textwrap.dedent('''
    import os

    import allspark


    class Echo(allspark.BaseProcessor):
        """Answers "<tag>:<body>", the tag being the model's tag.txt or else model_config;
        the tag "crash" fails to initialise."""

        def initialize(self):
            tag_file = self.model_path or ""
            if os.path.isdir(tag_file):
                tag_file = os.path.join(tag_file, "tag.txt")
            self.tag = open(tag_file).read().strip() if os.path.isfile(tag_file) else self.model_config
            if self.tag == "crash":
                raise RuntimeError("this version cannot start")

        def process(self, data):
            return self.tag.encode() + b":" + data, 200


    if __name__ == "__main__":
        Echo(worker_threads=4).run()
''')


@pytest.fixture
def echo_processor(tmp_path):
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "app.py").write_text(ECHO_APP)
    return folder


@pytest.fixture
def tenant(transactional_db):
    account = create_main_account("engine-owner", "engine-pass-123")
    client = Client()
    client.force_login(get_user_model().objects.get(username="engine-owner"))
    client.account = account
    return client


@pytest.fixture
def dedicated_group(tenant):
    return ResourceGroup.objects.create(account=tenant.account, name="engine-test", kind=ResourceGroup.Kind.DEDICATED,
                                        charge_type=ChargeType.POSTPAID, status=ResourceGroup.Status.READY)


@pytest.fixture
def start_agent(process_log_dir, dedicated_group, control_worker):
    """Start node agents whose machines join the test's dedicated group."""
    agents = []

    def start(name: str, cpu: int = 4, memory_mb: int = 8192) -> harness.ManagedProcess:
        agent = harness.node_agent(process_log_dir, name, cpu, memory_mb)
        agents.append(agent)
        harness.wait_until(lambda: Machine.objects.filter(name=name).exists(), 60,
                           f"agent {name} did not join:\n{agent.output()[-3000:]}")
        Machine.objects.filter(name=name).update(group=dedicated_group)
        return agent

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture
def fleet_beat(process_log_dir, control_worker):
    process = harness.beat(process_log_dir)
    yield process
    process.stop()


def create_service(client, description: dict, **query):
    response = client.post("/api/v2/services" + ("?" + "&".join(f"{k}={v}" for k, v in query.items())
                                                  if query else ""),
                           data=json.dumps(description), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def describe(client, name: str) -> dict:
    response = client.get(f"/api/v2/services/cn-shanghai/{name}")
    assert response.status_code == 200, response.content
    return response.json()


def instances(client, name: str) -> list[dict]:
    response = client.get(f"/api/v2/services/cn-shanghai/{name}/instances")
    assert response.status_code == 200, response.content
    return response.json()["Instances"]


def events(client, name: str) -> list[str]:
    response = client.get(f"/api/v2/services/cn-shanghai/{name}/events?PageSize=1000")
    assert response.status_code == 200, response.content
    return [e["Message"] for e in response.json()["Events"]]


def wait_for_status(client, name: str, status: str, timeout: float = 90, running: int | None = None) -> dict:
    def reached():
        service = describe(client, name)
        if service["Status"] == status and (running is None or service["RunningInstance"] == running):
            return service
        return None

    return harness.wait_until(reached, timeout, lambda: f"{name} did not reach {status}; events:\n"
                              + "\n".join(events(client, name)[-15:]), interval=0.3)
