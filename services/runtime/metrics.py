"""Prometheus metrics of one instance, served at /metrics in the text exposition format.

A private registry keeps the output limited to what the monitoring module scrapes (no process
collectors from other libraries loaded in the same interpreter).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class RuntimeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "eas_runtime_requests",
            "Prediction requests answered, by HTTP status class and code.",
            ["status_class", "code"],
            registry=self.registry,
        )
        self.request_bytes = Counter(
            "eas_runtime_request_bytes", "Bytes received in prediction request bodies.", registry=self.registry
        )
        self.response_bytes = Counter(
            "eas_runtime_response_bytes", "Bytes sent in prediction response bodies.", registry=self.registry
        )
        self.latency = Histogram(
            "eas_runtime_request_latency_seconds",
            "Time from receiving a prediction request to having its response.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_length = Gauge(
            "eas_runtime_queue_length", "Requests admitted but not yet executing.", registry=self.registry
        )
        self.in_flight = Gauge(
            "eas_runtime_in_flight", "Requests (or batches) executing in the processor.", registry=self.registry
        )
        self.batch_size = Histogram(
            "eas_runtime_batch_size",
            "Requests merged into one processor call when rpc.batching is on.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.ready = Gauge(
            "eas_runtime_ready", "1 once the model is loaded and warmed up.", registry=self.registry
        )
        self.worker_restarts = Counter(
            "eas_runtime_worker_restarts",
            "Isolated processor worker processes restarted after dying.",
            registry=self.registry,
        )
        self._status_children: dict[int, Counter] = {}

    def observe_request(self, status: int, bytes_in: int, bytes_out: int, seconds: float) -> None:
        child = self._status_children.get(status)
        if child is None:
            child = self.requests.labels(status_class(status), str(status))
            self._status_children[status] = child
        child.inc()
        self.request_bytes.inc(bytes_in)
        self.response_bytes.inc(bytes_out)
        self.latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
