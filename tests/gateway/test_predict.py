"""`/api/predict/<service>` through a real gateway process: authentication, errors, pass-through."""
import base64
import hashlib
import hmac
from email.utils import formatdate

import httpx
import pytest

from resourcegroups.models import Machine
from services.models import Service
from tests import harness
from tests.gateway.conftest import add_instance, create_service, unique_name, wait_routed

TOKEN = "token-for-tests-1234"
pytestmark = pytest.mark.django_db(transaction=True)


def sdk_signature(token: str, body: bytes, content_type: str, date: str, path: str) -> str:
    """The signature as eas_prediction.PredictClient.generate_singaure computes it."""
    canonical = f"POST\n{hashlib.md5(body).hexdigest()}\n{content_type}\n{date}\n{path}"
    digest = hmac.new(token.encode(), canonical.strip().encode(), hashlib.sha1).digest()
    return "EAS " + base64.b64encode(digest).decode()


@pytest.fixture
def echo_service(gateway, account, upstream_pool):
    name = unique_name("echo")
    create_service(account, name, upstream_pool[:2])
    wait_routed(gateway, name)
    return name


def test_plain_token_and_sdk_signature_are_accepted(gateway, echo_service):
    url = gateway.predict_url(echo_service)
    response = httpx.post(url, content=b"[1, 2]", headers={"Authorization": TOKEN})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["body"] == "[1, 2]" and answer["path"] == "/"
    assert answer["authorization"] == TOKEN  # the instance can check the token too

    body, content_type, date = b'{"x": [1.5]}', "application/octet-stream", formatdate(usegmt=True)
    signed = {"Authorization": sdk_signature(TOKEN, body, content_type, date, f"/api/predict/{echo_service}"),
              "Content-Type": content_type, "Date": date, "Content-MD5": hashlib.md5(body).hexdigest()}
    response = httpx.post(url, content=body, headers=signed)
    assert response.status_code == 200, response.text

    tampered = httpx.post(url, content=b'{"x": [2.5]}', headers=signed)
    assert tampered.status_code == 401


@pytest.mark.parametrize("authorization", [None, "wrong-token-1234", "EAS bm90IGEgc2lnbmF0dXJl"])
def test_wrong_or_missing_token_is_401(gateway, echo_service, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(gateway.predict_url(echo_service), content=b"x", headers=headers)
    assert response.status_code == 401
    assert echo_service in response.text


def test_unknown_service_is_404(gateway):
    response = httpx.post(gateway.predict_url("no_such_service"), content=b"x", headers={"Authorization": TOKEN})
    assert response.status_code == 404
    assert "no_such_service" in response.text


def test_no_routable_instance_is_503(gateway, account, upstream_pool):
    name = unique_name("empty")
    service = create_service(account, name)
    wait_routed(gateway, name)
    assert httpx.post(gateway.predict_url(name), content=b"x", headers={"Authorization": TOKEN}).status_code == 503

    # Instances that are not Running, or whose machine is NotReady, get no traffic either.
    add_instance(service, upstream_pool[0], announce=False, status="Terminating")
    machine = Machine.objects.create(name=f"m-{name}", ip="127.0.0.1", cpu=4, memory_mb=4096, status="NotReady")
    add_instance(service, upstream_pool[1], machine=machine)
    response = httpx.post(gateway.predict_url(name), content=b"x", headers={"Authorization": TOKEN})
    assert response.status_code == 503 and "no healthy instance" in response.text


def test_body_over_the_limit_is_413(gateway, echo_service):
    url, headers = gateway.predict_url(echo_service), {"Authorization": TOKEN}
    assert httpx.post(url, content=b"x" * (1024 * 1024), headers=headers).status_code == 200
    assert httpx.post(url, content=b"x" * (1024 * 1024 + 1), headers=headers).status_code == 413

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(20):
            yield b"y" * 100_000

    assert httpx.post(url, content=chunks(), headers=headers).status_code == 413


@pytest.mark.parametrize("code", [400, 408, 450, 500])
def test_instance_answers_pass_through(gateway, echo_service, code):
    response = httpx.post(gateway.predict_url(echo_service), content=f"status:{code}".encode(),
                          headers={"Authorization": TOKEN})
    assert response.status_code == code
    assert response.text.endswith(f"answers {code}")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_body_content_type_sub_path_and_query_reach_the_instance(gateway, echo_service):
    body = bytes(range(256)) * 64
    response = httpx.post(gateway.predict_url(echo_service, "/echo"), content=body,
                          headers={"Authorization": TOKEN, "Content-Type": "application/x-protobuf"})
    assert response.status_code == 200
    assert response.content == body and response.headers["content-type"] == "application/x-protobuf"

    response = httpx.post(gateway.predict_url(echo_service, "/chunked"), content=body,
                          headers={"Authorization": TOKEN})
    assert response.content == body and response.headers["content-type"] == "application/x-chunks"

    response = httpx.post(gateway.predict_url(echo_service, "/v1/run%20it?top_k=3&x=a%2Fb"), content=b"q",
                          headers={"Authorization": TOKEN})
    assert response.json()["path"] == "/v1/run%20it?top_k=3&x=a%2Fb"


def test_get_or_empty_body_returns_the_model_structure(gateway, echo_service):
    for response in (httpx.get(gateway.predict_url(echo_service), headers={"Authorization": TOKEN}),
                     httpx.post(gateway.predict_url(echo_service), headers={"Authorization": TOKEN})):
        assert response.status_code == 200
        assert response.json()["signature_name"] == "serving_default"


def test_service_without_token_needs_no_authorization(gateway, account, upstream_pool):
    name = unique_name("open")
    create_service(account, name, upstream_pool[:1], token="")
    wait_routed(gateway, name)
    assert httpx.post(gateway.predict_url(name), content=b"x").status_code == 200


def test_health_endpoints(gateway, echo_service):
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{gateway.url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    report = ready.json()
    assert set(report["checks"]) == {"database", "broker", "channel_layer"}  # as on the web process
    assert report["routing"]["ok"] and report["routing"]["routes"] >= 1


def test_token_change_applies_after_notification(gateway, echo_service):
    from services import notifications

    Service.objects.filter(name=echo_service).update(token="rotated-token-5678")
    notifications.routing_changed(echo_service)
    url = gateway.predict_url(echo_service)
    harness.wait_until(
        lambda: httpx.post(url, content=b"x", headers={"Authorization": "rotated-token-5678"}).status_code == 200,
        2, "the new token was not accepted")
    assert httpx.post(url, content=b"x", headers={"Authorization": TOKEN}).status_code == 401
