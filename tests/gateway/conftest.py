"""A real gateway process on the test database, real upstream processes, and services routed to them.

Rows are created directly (as the deployment engine would) and announced on `eas:routing`; the
shared gateway polls only every 30 s, so a test that passes saw the notification work.
"""
import itertools
import logging
import os
import signal
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from prometheus_client.parser import text_string_to_metric_families

from console.iam.models import Account
from services import notifications
from services.models import Instance, Service
from tests import harness

UPSTREAM_SCRIPT = Path(__file__).with_name("upstream.py")
_names = itertools.count(1)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per test call drowns failures


class Upstream(harness.ManagedProcess):
    """One stand-in instance server (tests/gateway/upstream.py)."""

    def __init__(self, log_dir: Path):
        self.port = harness.free_port()
        self.instance_name = f"upstream-{self.port}"
        super().__init__(self.instance_name, [harness.PYTHON, str(UPSTREAM_SCRIPT), self.instance_name,
                                              str(self.port)], dict(os.environ), log_dir)
        self.url = f"http://127.0.0.1:{self.port}"

    def set_healthy(self, healthy: bool) -> None:
        httpx.post(f"{self.url}/_control/health/{'ok' if healthy else 'fail'}", timeout=5).raise_for_status()

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.process.wait(5)


class Gateway(harness.ManagedProcess):
    def __init__(self, log_dir: Path, name: str, **env: str):
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(name, [harness.PYTHON, "-m", "uvicorn", "services.gateway.app:application",
                                "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"],
                         harness.process_env(**env), log_dir)

    def predict_url(self, name: str, sub_path: str = "") -> str:
        return f"{self.url}/api/predict/{name}{sub_path}"

    def metric(self, sample: str, **labels: str) -> float | None:
        """Value of one sample of /metrics, e.g. metric("eas_gateway_instance_up", service="a", instance="b")."""
        for family in text_string_to_metric_families(httpx.get(f"{self.url}/metrics", timeout=5).text):
            for found in family.samples:
                if found.name == sample and found.labels == labels:
                    return found.value
        return None


def start_gateway(log_dir: Path, name: str, **env: str) -> Gateway:
    gateway = Gateway(log_dir, name, **{"EAS_GATEWAY_POLL_SECONDS": "30", **env}).start()
    gateway.wait_for_http(f"{gateway.url}/healthz", timeout=60)
    return gateway


@pytest.fixture(scope="session")
def gateway(django_db_setup, django_db_blocker, process_log_dir):
    """The shared gateway: 1 MB body limit, metrics flushed every second."""
    with django_db_blocker.unblock():
        process = start_gateway(process_log_dir, "gateway", EAS_GATEWAY_MAX_BODY_MB="1",
                                EAS_METRICS_FLUSH_SECONDS="1")
    yield process
    process.stop()


@pytest.fixture(scope="session")
def upstream_pool(process_log_dir):
    """Three long-lived upstreams shared by tests that leave them healthy."""
    upstreams = [Upstream(process_log_dir).start() for _ in range(3)]
    try:
        for upstream in upstreams:
            upstream.wait_for_http(f"{upstream.url}/health", timeout=30)
        yield upstreams
    finally:
        for upstream in upstreams:
            upstream.stop()


@pytest.fixture
def new_upstream(process_log_dir):
    """Start disposable upstreams (for tests that kill or break them)."""
    started = []

    def start() -> Upstream:
        upstream = Upstream(process_log_dir).start()
        started.append(upstream)
        upstream.wait_for_http(f"{upstream.url}/health", timeout=30)
        return upstream

    yield start
    for upstream in started:
        upstream.stop()


@pytest.fixture
def account(transactional_db):
    """A tenant; its owner has no password (hashing one would cost each test a second)."""
    name = f"gateway-tenant-{next(_names)}"
    return Account.objects.create(name=name, owner=get_user_model().objects.create(username=name))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_names)}"


def create_service(account, name: str, upstreams=(), token: str = "token-for-tests-1234", **fields) -> Service:
    """A Running service whose Running instances are `upstreams`; announced to the gateways."""
    service = Service.objects.create(account=account, region=settings.EAS_REGION, name=name, token=token,
                                     status=Service.Status.RUNNING, **fields)
    for upstream in upstreams:
        add_instance(service, upstream, announce=False)
    notifications.routing_changed(name)
    return service


def add_instance(service: Service, upstream: Upstream, announce: bool = True, **fields) -> Instance:
    fields = {"status": Instance.Status.RUNNING, **fields}
    instance = Instance.objects.create(
        service=service, version=1, name=f"{service.name}-{upstream.instance_name}", host="127.0.0.1",
        port=upstream.port, cpu=1, memory_mb=256, **fields)
    if announce:
        notifications.routing_changed(service.name)
    return instance


def wait_routed(gateway: Gateway, name: str, token: str = "token-for-tests-1234", timeout: float = 5) -> None:
    """Until the gateway knows endpoint `name` (anything but 404)."""
    harness.wait_until(
        lambda: httpx.post(gateway.predict_url(name), content=b"ping", headers={"Authorization": token},
                           timeout=5).status_code != 404,
        timeout, f"gateway never routed {name}")
