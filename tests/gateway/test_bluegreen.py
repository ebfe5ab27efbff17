"""Blue-green routing on the original endpoint, and routing changes picked up from notifications."""
import time
from collections import Counter

import httpx
import pytest

from services import notifications
from services.models import Service
from tests.gateway.conftest import add_instance, create_service, unique_name, wait_routed

TOKEN = "token-for-tests-1234"
pytestmark = pytest.mark.django_db(transaction=True)


def answered_by(client: httpx.Client, url: str) -> str:
    response = client.post(url, content=b"who", headers={"Authorization": TOKEN})
    assert response.status_code == 200, response.text
    return response.json()["instance"]


def test_release_splits_traffic_and_closes_the_associate_endpoint(gateway, account, upstream_pool):
    blue, green = upstream_pool[0], upstream_pool[1]
    name = unique_name("bg")
    create_service(account, name, [blue])
    associate_name = f"{name}_4f2a"
    create_service(account, associate_name, [green], origin_name=name)
    wait_routed(gateway, associate_name)
    url = gateway.predict_url(name)

    with httpx.Client(timeout=10) as client:
        # Before release the associate answers on its own name only.
        assert {answered_by(client, url) for _ in range(20)} == {blue.instance_name}
        assert answered_by(client, gateway.predict_url(associate_name)) == green.instance_name

        Service.objects.filter(name=associate_name).update(released=True, traffic_weight=20)
        notified = time.monotonic()
        notifications.routing_changed(name)
        while answered_by(client, url) != green.instance_name:
            assert time.monotonic() - notified < 1.0, "the release was not picked up within a second"
        picked_up = time.monotonic() - notified
        print(f"release picked up {picked_up * 1000:.0f} ms after the notification")

        split = Counter(answered_by(client, url) for _ in range(1000))
        assert 170 <= split[green.instance_name] <= 230, split
        assert split[blue.instance_name] + split[green.instance_name] == 1000

        closed = client.post(gateway.predict_url(associate_name), content=b"x", headers={"Authorization": TOKEN})
        assert closed.status_code == 404 and name in closed.text

        # Deleting the original leaves the endpoint to the released associate.
        Service.objects.filter(name=name).delete()
        notifications.routing_changed(name)
        deadline = time.monotonic() + 1.0
        while {answered_by(client, url) for _ in range(10)} != {green.instance_name}:
            assert time.monotonic() < deadline, "the deletion was not picked up within a second"


def test_weights_across_several_associates_and_instances(gateway, account, upstream_pool):
    first, second, third = upstream_pool
    name = unique_name("weights")
    create_service(account, name, [first])
    create_service(account, f"{name}_a", [second, third], origin_name=name, released=True, traffic_weight=30)
    create_service(account, f"{name}_b", [], origin_name=name, released=True, traffic_weight=20)
    wait_routed(gateway, name)

    with httpx.Client(timeout=10) as client:
        split = Counter(answered_by(client, gateway.predict_url(name)) for _ in range(500))
    # The associate without instances cannot take its 20 %: the others share the endpoint 50:30.
    assert split[first.instance_name] == pytest.approx(500 * 5 / 8, abs=15), split
    assert split[second.instance_name] + split[third.instance_name] == pytest.approx(500 * 3 / 8, abs=15), split
    assert abs(split[second.instance_name] - split[third.instance_name]) <= 10, split


def test_new_instance_gets_traffic_after_notification(gateway, account, upstream_pool):
    name = unique_name("scale")
    service = create_service(account, name, [upstream_pool[0]])
    wait_routed(gateway, name)
    add_instance(service, upstream_pool[2])
    notified = time.monotonic()
    with httpx.Client(timeout=10) as client:
        while answered_by(client, gateway.predict_url(name)) != upstream_pool[2].instance_name:
            assert time.monotonic() - notified < 1.0, "the new instance got no traffic within a second"
