"""EAS queueing semantics end to end: 450 when the queue is full, 408 after rpc.keepalive, metrics."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.timeout(120)


def behaviour_server(start_server, native_libraries, **rpc):
    metadata = json.dumps({"rpc": rpc})
    return start_server(["--processor-type", "cpp", "--processor-path", str(native_libraries.directory),
                         "--processor-entry", native_libraries.behaviour.name, "--metadata", metadata])


def test_full_queue_answers_450_and_closes_the_connection(start_server, native_libraries):
    server = behaviour_server(start_server, native_libraries, worker_threads=1, max_queue_size=2)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: server.raw_post(b"sleep600"), range(6)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 200, 200, 450, 450, 450]
    for status, headers, body in results:
        if status == 450:
            assert headers.get("connection") == "close"
            assert b"queue is full" in body
    assert 'eas_runtime_requests_total{code="450",status_class="4xx"} 3.0' in server.metrics()


def test_keepalive_timeout_answers_408_and_closes_the_connection(start_server, native_libraries):
    server = behaviour_server(start_server, native_libraries, keepalive=300)
    started = time.monotonic()
    status, headers, body = server.raw_post(b"sleep1500")
    elapsed = time.monotonic() - started
    assert status == 408
    assert headers.get("connection") == "close"
    assert b"300ms" in body
    assert 0.25 < elapsed < 1.2
    assert server.post(b"quick").status_code == 200


def test_requests_waiting_in_the_queue_also_time_out(start_server, native_libraries):
    server = behaviour_server(start_server, native_libraries, worker_threads=1, keepalive=400)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(server.raw_post, b"sleep300")
        time.sleep(0.05)
        second = pool.submit(server.raw_post, b"sleep300")
        assert first.result()[0] == 200
        assert second.result()[0] == 408


def test_metrics_cover_requests_bytes_latency_and_queue(start_server, native_libraries):
    server = behaviour_server(start_server, native_libraries)
    server.post(b"12345")
    server.post(b"code404")
    text = server.metrics()
    assert 'eas_runtime_requests_total{code="200",status_class="2xx"} 1.0' in text
    assert 'eas_runtime_requests_total{code="404",status_class="4xx"} 1.0' in text
    assert server.metric("eas_runtime_request_bytes_total") == 12
    assert server.metric("eas_runtime_response_bytes_total") == len(b"||12345") + len(b"coded")
    assert server.metric("eas_runtime_request_latency_seconds_count") == 2
    assert server.metric("eas_runtime_queue_length") == 0
    assert server.metric("eas_runtime_ready") == 1
    assert "eas_runtime_batch_size_bucket" in text
