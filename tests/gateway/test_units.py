"""The gateway's pure parts: routing rules, picking, counters and percentiles (no processes)."""
from collections import Counter

from services.gateway import auth
from services.gateway.metrics import GatewayMetrics
from services.gateway.routing import InstanceRecord, RoutingTable, ServiceRecord, Snapshot
from services.monitoring.counts import CallCounts, histogram_percentile


def service(name, origin="", released=False, weight=0, token="t0ken-123"):
    return ServiceRecord(name, token, origin, released, weight, None)


def instances(service_name, count):
    return [InstanceRecord(f"{service_name}-{i}", service_name, "10.0.0.1", 9000 + i) for i in range(count)]


def split(route, calls=1000):
    return Counter(route.pick().service for _ in range(calls))


def test_weights_of_original_and_released_associates():
    table = RoutingTable()
    table.rebuild(Snapshot(
        (service("m"), service("m_a", "m", True, 30), service("m_b", "m", True, 10), service("m_c", "m", False, 50)),
        tuple(instances("m", 2) + instances("m_a", 1) + instances("m_b", 1) + instances("m_c", 1))))
    assert split(table.routes["m"]) == {"m": 600, "m_a": 300, "m_b": 100}
    assert table.closed == {"m_a": "m", "m_b": "m"} and "m_a" not in table.routes
    assert split(table.routes["m_c"], 10) == {"m_c": 10}  # not released: callable on its own name


def test_associates_over_100_leave_the_original_nothing():
    table = RoutingTable()
    table.rebuild(Snapshot((service("m"), service("m_a", "m", True, 80), service("m_b", "m", True, 40)),
                           tuple(instances("m", 1) + instances("m_a", 1) + instances("m_b", 1))))
    assert split(table.routes["m"], 600) == {"m_a": 400, "m_b": 200}


def test_without_the_original_released_associates_share_everything():
    table = RoutingTable()
    table.rebuild(Snapshot((service("m_a", "m", True, 0, "tok-a-123"), service("m_b", "m", True, 0, "tok-b-123")),
                           tuple(instances("m_a", 1) + instances("m_b", 1))))
    route = table.routes["m"]
    assert split(route, 100) == {"m_a": 50, "m_b": 50}
    assert route.tokens == ("tok-a-123", "tok-b-123")


def test_down_and_excluded_instances_are_skipped_and_least_loaded_wins():
    table = RoutingTable()
    table.rebuild(Snapshot((service("m"),), tuple(instances("m", 3))))
    route = table.routes["m"]
    first, second, third = (table.backends[(f"m-{i}", "10.0.0.1", 9000 + i)] for i in range(3))
    first.up = False
    second.in_flight = 5
    assert {route.pick().name for _ in range(10)} == {"m-2"}
    assert route.pick(exclude=[third]).name == "m-1"
    assert route.pick(exclude=[second, third]) is None


def test_rebuild_keeps_the_state_of_surviving_instances():
    table = RoutingTable()
    table.rebuild(Snapshot((service("m"),), tuple(instances("m", 2))))
    survivor = table.backends[("m-1", "10.0.0.1", 9001)]
    survivor.up = False
    added, retired = table.rebuild(Snapshot((service("m"),), tuple(instances("m", 3)[1:])))
    assert table.backends[("m-1", "10.0.0.1", 9001)] is survivor and not survivor.up
    assert [b.name for b in added] == ["m-2"] and [b.name for b in retired] == ["m-0"]


def test_signature_matches_the_sdk_form():
    body, date = b'{"a": 1}', "Tue, 24 Nov 2026 11:00:00 GMT"
    header = "EAS " + auth.signature("t0ken-123", "POST", body, "application/json", date, "/api/predict/m")
    assert auth.signature_matches(header, ["other-token", "t0ken-123"], verb="POST", body=body,
                                  content_type="application/json", date=date, resources=["/api/predict/m"])
    assert not auth.signature_matches(header, ["t0ken-123"], verb="POST", body=body + b" ",
                                      content_type="application/json", date=date, resources=["/api/predict/m"])
    assert auth.token_matches("t0ken-123", ["t0ken-123"]) and not auth.token_matches("t0ken-12", ["t0ken-123"])


def test_windows_are_deltas_and_percentiles_interpolate():
    metrics = GatewayMetrics()
    stats = metrics.endpoint("m")
    for ms in (1.5, 1.5, 3, 40):
        stats.record(200, 10, 20, ms / 1000)
    stats.record(503, 0, 5, 0.0001)
    (name, instance, first), = metrics.take_window()
    assert (name, instance, first.calls, first.s2xx, first.s5xx, first.bytes_in) == ("m", "", 5, 4, 1, 40)
    assert metrics.take_window() == []  # nothing new
    stats.record(450, 1, 1, 0.2)
    (_, _, second), = metrics.take_window()
    assert (second.calls, second.s4xx, second.bytes_in) == (1, 1, 1)
    assert (first + second).calls == 6
    assert histogram_percentile(first.histogram, 0.5) == 1.75  # rank 2.5 of 5: 1.5 calls into the 1–2 ms bucket of 2
    assert histogram_percentile(CallCounts().histogram, 0.5) is None


def test_counters_of_vanished_endpoints_go_once_stored():
    metrics = GatewayMetrics()
    metrics.endpoint("gone").record(200, 1, 1, 0.001)
    metrics.forget_except(set(), set())
    assert "gone" in metrics.endpoints  # not stored yet
    metrics.take_window()
    metrics.forget_except(set(), set())
    assert "gone" not in metrics.endpoints
