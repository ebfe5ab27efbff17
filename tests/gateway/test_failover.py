"""Dead and unhealthy instances leave the rotation; calls that could not be sent go elsewhere."""
import asyncio
import time

import httpx
import pytest

from tests import harness
from tests.gateway.conftest import create_service, start_gateway, unique_name, wait_routed

TOKEN = "token-for-tests-1234"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def gateway_without_health_checks(django_db_setup, django_db_blocker, process_log_dir):
    """A gateway that only learns of dead instances from failed connections, and waits 1.5 s for answers."""
    with django_db_blocker.unblock():
        process = start_gateway(process_log_dir, "gateway-passive", EAS_GATEWAY_HEALTH_INTERVAL="3600",
                                EAS_GATEWAY_UPSTREAM_TIMEOUT="1.5")
    yield process
    process.stop()


async def call_many(url: str, count: int, concurrency: int) -> list[int]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def call(_):
            async with semaphore:
                response = await client.post(url, content=b"x", headers={"Authorization": TOKEN})
                return response.status_code

        return await asyncio.gather(*(call(i) for i in range(count)))


def instance_up(gateway, service: str, upstream) -> float | None:
    return gateway.metric("eas_gateway_instance_up", service=service, instance=f"{service}-{upstream.instance_name}")


def test_killed_instance_fails_no_call(gateway_without_health_checks, account, new_upstream):
    gateway = gateway_without_health_checks
    doomed, survivor = new_upstream(), new_upstream()
    name = unique_name("failover")
    create_service(account, name, [doomed, survivor])
    wait_routed(gateway, name)
    url = gateway.predict_url(name)
    assert set(asyncio.run(call_many(url, 40, 8))) == {200}  # connections to both are pooled now

    doomed.kill()
    statuses = asyncio.run(call_many(url, 200, 8))
    assert statuses.count(200) == 200, sorted(set(statuses))
    assert instance_up(gateway, name, doomed) == 0
    assert instance_up(gateway, name, survivor) == 1


def test_instance_failing_health_checks_leaves_within_a_second(gateway, account, new_upstream):
    sick, healthy = new_upstream(), new_upstream()
    name = unique_name("health")
    create_service(account, name, [sick, healthy])
    wait_routed(gateway, name)

    sick.set_healthy(False)
    failing_since = time.monotonic()
    harness.wait_until(lambda: instance_up(gateway, name, sick) == 0, 2, "still in rotation", interval=0.02)
    removed_after = time.monotonic() - failing_since
    assert removed_after < 1.0, f"removed after {removed_after:.2f}s"
    with httpx.Client(timeout=10) as client:
        answers = {client.post(gateway.predict_url(name), content=b"x", headers={"Authorization": TOKEN}
                               ).json()["instance"] for _ in range(30)}
    assert answers == {healthy.instance_name}

    sick.set_healthy(True)
    harness.wait_until(lambda: instance_up(gateway, name, sick) == 1, 2, "not back in rotation", interval=0.05)


def test_all_instances_down_is_503(gateway, account, new_upstream):
    only = new_upstream()
    name = unique_name("down")
    create_service(account, name, [only])
    wait_routed(gateway, name)
    only.kill()
    response = httpx.post(gateway.predict_url(name), content=b"x", headers={"Authorization": TOKEN})
    assert response.status_code == 503


def test_call_lost_after_sending_is_502_not_repeated(gateway_without_health_checks, account, new_upstream):
    """A call the instance may have run is not sent again; the SDK retries 5xx itself."""
    gateway = gateway_without_health_checks
    doomed = new_upstream()
    name = unique_name("lost")
    create_service(account, name, [doomed])
    wait_routed(gateway, name)

    async def slow_call_then_kill():
        async with httpx.AsyncClient(timeout=10) as client:
            call = asyncio.create_task(client.post(gateway.predict_url(name), content=b"sleep:2",
                                                   headers={"Authorization": TOKEN}))
            await asyncio.sleep(0.5)
            doomed.kill()
            return await call

    response = asyncio.run(slow_call_then_kill())
    assert response.status_code == 502, response.text


def test_instance_slower_than_the_upstream_timeout_is_504(gateway_without_health_checks, account, upstream_pool):
    gateway = gateway_without_health_checks
    name = unique_name("slow")
    create_service(account, name, upstream_pool[:1])
    wait_routed(gateway, name)
    started = time.monotonic()
    response = httpx.post(gateway.predict_url(name), content=b"sleep:3", headers={"Authorization": TOKEN}, timeout=10)
    assert response.status_code == 504 and 1.4 < time.monotonic() - started < 2.5
    assert httpx.post(gateway.predict_url(name), content=b"x", headers={"Authorization": TOKEN}).status_code == 200
