"""Traffic through the gateway while the engine changes things: zero-downtime updates, blue-green."""
import json
import threading
from collections import Counter

import httpx
import pytest

from tests import harness
from tests.gateway.conftest import start_gateway
from tests.services.conftest import create_service, describe, wait_for_status
from tests.services.test_engine import answers, echo_description

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_gateway(process_log_dir, control_worker):
    gateway = start_gateway(process_log_dir, "engine-gateway")
    yield gateway
    gateway.stop()


def predict(gateway, name, token, body=b"hello"):
    return httpx.post(gateway.predict_url(name), content=body, headers={"Authorization": token}, timeout=10)


class Load(threading.Thread):
    """Calls an endpoint back to back and keeps every answer."""

    def __init__(self, gateway, name, token):
        super().__init__(daemon=True)
        self.url = gateway.predict_url(name)
        self.token = token
        self.stopped = threading.Event()
        self.answers = Counter()
        self.failures = []

    def run(self):
        with httpx.Client(timeout=10, headers={"Authorization": self.token}) as client:
            while not self.stopped.is_set():
                try:
                    response = client.post(self.url, content=b"hello")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if response.status_code == 200:
                    self.answers[response.text] += 1
                else:
                    self.failures.append(f"{response.status_code} {response.text[:200]}")


def test_update_under_continuous_load_fails_no_request(tenant, dedicated_group, start_agent, echo_processor,
                                                        live_gateway, fleet_beat):
    start_agent("node-a")
    start_agent("node-b")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="steady", instance=2))
    token = wait_for_status(tenant, "steady", "Running", running=2)["AccessToken"]
    harness.wait_until(lambda: predict(live_gateway, "steady", token).status_code == 200, 10, "not routed")

    load = Load(live_gateway, "steady", token)
    load.start()
    try:
        tenant.put("/api/v2/services/cn-shanghai/steady", data='{"model_config": "v2"}',
                   content_type="application/json")
        harness.wait_until(lambda: describe(tenant, "steady")["Status"] == "Running"
                           and answers(tenant, "steady") == ["v2:hello", "v2:hello"], 120,
                           lambda: f"v2 not rolled out: {answers(tenant, 'steady')}")
        harness.wait_until(lambda: load.answers["v2:hello"] > 50, 30, "no traffic reached v2")
    finally:
        load.stopped.set()
        load.join(15)
    assert load.failures == []
    assert load.answers["v1:hello"] > 0 and load.answers["v2:hello"] > 0
    assert set(load.answers) == {"v1:hello", "v2:hello"}


def test_blue_green_release_splits_the_original_endpoint(tenant, dedicated_group, start_agent, echo_processor,
                                                          live_gateway):
    start_agent("node-a", cpu=8)
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="shop", tag="blue"))
    token = wait_for_status(tenant, "shop", "Running", running=1)["AccessToken"]
    green = create_service(tenant, echo_description(echo_processor, dedicated_group, name="shop", tag="green"),
                           Associate="true")["ServiceName"]
    assert green.startswith("shop_") and len(green) == len("shop_") + 8
    assert wait_for_status(tenant, green, "Running", running=1)["AccessToken"] == token
    harness.wait_until(lambda: predict(live_gateway, green, token).text == "green:hello", 10,
                       "associate not callable on its own endpoint")

    response = tenant.put(f"/api/v2/services/cn-shanghai/{green}/release", data=json.dumps({"Weight": 20}),
                          content_type="application/json")
    assert response.status_code == 200, response.content
    harness.wait_until(lambda: predict(live_gateway, green, token).status_code == 404, 10,
                       "released associate's own endpoint still open")
    seen = Counter(predict(live_gateway, "shop", token).text for _ in range(1000))
    assert set(seen) == {"blue:hello", "green:hello"}
    assert abs(seen["green:hello"] / 1000 - 0.20) < 0.03, seen

    # Deleting the original sends all of its endpoint's traffic to the associate.
    assert tenant.delete("/api/v2/services/cn-shanghai/shop").status_code == 200
    harness.wait_until(lambda: {predict(live_gateway, "shop", token).text for _ in range(20)} == {"green:hello"},
                       15, "original endpoint does not reach the associate after deletion")
