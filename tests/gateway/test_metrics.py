"""Calls are counted in memory, exposed at /metrics and stored as MetricPoint windows."""
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from services.models import MetricPoint
from services.monitoring.series import call_series
from tests import harness
from tests.gateway.conftest import create_service, unique_name, wait_routed

TOKEN = "token-for-tests-1234"
pytestmark = pytest.mark.django_db(transaction=True)


def test_calls_are_counted_exported_and_stored(gateway, account, upstream_pool):
    name = unique_name("metered")
    create_service(account, name, upstream_pool[:2])
    wait_routed(gateway, name)  # one 200 call
    url = gateway.predict_url(name)
    with httpx.Client(timeout=10) as client:
        for _ in range(9):
            assert client.post(url, content=b"0123456789", headers={"Authorization": TOKEN}).status_code == 200
        for _ in range(3):
            assert client.post(url, content=b"status:450", headers={"Authorization": TOKEN}).status_code == 450
        assert client.post(url, content=b"x", headers={"Authorization": "wrong-token"}).status_code == 401
        assert client.post(url, content=b"status:500", headers={"Authorization": TOKEN}).status_code == 500

    assert gateway.metric("eas_gateway_endpoint_requests_total", service=name, code="200") == 10
    assert gateway.metric("eas_gateway_endpoint_requests_total", service=name, code="450") == 3
    assert gateway.metric("eas_gateway_endpoint_requests_total", service=name, code="401") == 1
    assert gateway.metric("eas_gateway_endpoint_latency_seconds_count", service=name) == 15
    assert gateway.metric("eas_gateway_endpoint_received_bytes_total", service=name) == 4 + 90 + 30 + 10  # the 401 was refused unread
    per_instance = sum(
        gateway.metric("eas_gateway_instance_requests_total", service=name, instance=f"{name}-{u.instance_name}",
                       code="200") or 0 for u in upstream_pool[:2])
    assert per_instance == 10  # the refused call never reached an instance

    def stored():
        rows = MetricPoint.objects.filter(service=name, instance="")
        return rows if sum(row.calls for row in rows) == 15 else None

    rows = harness.wait_until(stored, 5, "the endpoint's calls were not stored")
    assert sum(r.s2xx for r in rows) == 10 and sum(r.s4xx for r in rows) == 4 and sum(r.s5xx for r in rows) == 1
    assert sum(r.bytes_in for r in rows) == 134 and all(r.latency_p99_ms for r in rows)
    instance_rows = MetricPoint.objects.filter(service=name).exclude(instance="")
    assert {r.instance for r in instance_rows} == {f"{name}-{u.instance_name}" for u in upstream_pool[:2]}

    series = call_series(name, timezone.now() - timedelta(minutes=5))
    assert sum(point["qps"] * 1 for point in series) == 15  # windows of one second
    assert all(point["latency_p50_ms"] is not None for point in series)


def test_unknown_paths_are_counted_without_a_service(gateway):
    before = gateway.metric("eas_gateway_unrouted_requests_total", code="404") or 0
    httpx.post(gateway.predict_url("never_deployed"), content=b"x")
    assert gateway.metric("eas_gateway_unrouted_requests_total", code="404") == before + 1


def test_expired_windows_are_deleted(transactional_db):
    from services.monitoring import store
    from services.monitoring.counts import CallCounts

    now = timezone.now()
    store.write_window(now - timedelta(days=8), 10, [("old", "", CallCounts(calls=1, s2xx=1))])
    store.write_window(now - timedelta(days=1), 10, [("recent", "", CallCounts(calls=1, s2xx=1))])
    assert store.delete_expired(timedelta(days=7)) == 1
    assert list(MetricPoint.objects.values_list("service", flat=True)) == ["recent"]
