"""Call metrics per endpoint and per instance: plain in-memory counters on the hot path.

Prometheus reads them at scrape time through a custom collector (no locks or label lookups per
call); the flusher turns the change since the previous flush into one stored window
(`services.monitoring.store`) every `EAS_METRICS_FLUSH_SECONDS`, aligned to the wall clock so
the windows of several gateways line up.
"""
from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from services.monitoring import store
from services.monitoring.counts import LATENCY_BOUNDS_MS, CallCounts, empty_histogram

log = logging.getLogger(__name__)

MAX_UNSENT_WINDOWS = 60  # windows kept for retry while the database is away
CLEANUP_EVERY_SECONDS = 3600


class CallStats:
    """Cumulative counters of one endpoint or instance."""

    __slots__ = ("codes", "calls", "bytes_in", "bytes_out", "latency_ms_sum", "histogram")

    def __init__(self):
        self.codes: dict[int, int] = {}
        self.calls = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.latency_ms_sum = 0.0
        self.histogram = empty_histogram()

    def record(self, status: int, bytes_in: int, bytes_out: int, seconds: float) -> None:
        self.calls += 1
        codes = self.codes
        codes[status] = codes.get(status, 0) + 1
        self.bytes_in += bytes_in
        self.bytes_out += bytes_out
        ms = seconds * 1000.0
        self.latency_ms_sum += ms
        self.histogram[bisect_left(LATENCY_BOUNDS_MS, ms)] += 1

    def counts(self) -> CallCounts:
        by_class = [0] * 6
        for code, count in self.codes.items():
            by_class[min(code // 100, 5)] += count
        return CallCounts(self.calls, by_class[2], by_class[4], by_class[5], self.bytes_in, self.bytes_out,
                          self.latency_ms_sum, tuple(self.histogram))


class GatewayMetrics:
    def __init__(self):
        self.endpoints: dict[str, CallStats] = {}
        self.instances: dict[tuple[str, str], CallStats] = {}
        self.unrouted: dict[int, int] = {}  # calls answered without a known endpoint, by status
        self._flushed: dict[tuple[str, str], CallCounts] = {}
        self._unsent: list[tuple[datetime, float, list]] = []

    def endpoint(self, name: str) -> CallStats:
        return self.endpoints.setdefault(name, CallStats())

    def instance(self, service: str, name: str) -> CallStats:
        return self.instances.setdefault((service, name), CallStats())

    def record_unrouted(self, status: int) -> None:
        self.unrouted[status] = self.unrouted.get(status, 0) + 1

    def forget_except(self, endpoints: set[str], instances: set[tuple[str, str]]) -> None:
        """Drop counters of endpoints and instances that left the table once their calls are stored."""
        for name in [n for n in self.endpoints if n not in endpoints and self._settled((n, ""), self.endpoints[n])]:
            del self.endpoints[name]
            self._flushed.pop((name, ""), None)
        for key in [k for k in self.instances if k not in instances and self._settled(k, self.instances[k])]:
            del self.instances[key]
            self._flushed.pop(key, None)

    def _settled(self, key, stats: CallStats) -> bool:
        flushed = self._flushed.get(key)
        return stats.calls == (flushed.calls if flushed else 0)

    def take_window(self) -> list[tuple[str, str, CallCounts]]:
        """(service, instance or "", counts) that changed since the previous call."""
        rows = []
        current = [((name, ""), stats) for name, stats in self.endpoints.items()]
        current += list(self.instances.items())
        for key, stats in current:
            if not stats.calls:
                continue
            counts = stats.counts()
            earlier = self._flushed.get(key)
            if earlier is not None and earlier.calls == counts.calls:
                continue
            self._flushed[key] = counts
            rows.append((key[0], key[1], counts - earlier if earlier else counts))
        return rows

    async def run_flusher(self, database, interval: float, retention) -> None:
        """Store a window every `interval` seconds; delete expired windows once an hour."""
        last_cleanup = 0.0
        while True:
            now = time.time()
            tick = (now // interval + 1) * interval
            await asyncio.sleep(tick - now)
            await self.flush(database, datetime.fromtimestamp(tick - interval, UTC), interval)
            if time.monotonic() - last_cleanup > CLEANUP_EVERY_SECONDS:
                last_cleanup = time.monotonic()
                try:
                    await database.run(store.delete_expired, retention)
                except Exception as exc:
                    log.warning("expired metrics not deleted: %s", exc)

    async def flush(self, database, window_start: datetime, window_seconds: float) -> None:
        rows = self.take_window()
        if rows:
            self._unsent.append((window_start, window_seconds, rows))
        while self._unsent:
            start, seconds, rows = self._unsent[0]
            try:
                await database.run(store.write_window, start, seconds, rows)
            except Exception as exc:
                log.warning("metrics window %s not stored yet (%d waiting): %s", start, len(self._unsent), exc)
                del self._unsent[:-MAX_UNSENT_WINDOWS]
                return
            self._unsent.pop(0)


class PrometheusExport:
    """`/metrics` in the Prometheus text format, read from the counters at scrape time."""

    def __init__(self, metrics: GatewayMetrics, backends):
        self._metrics = metrics
        self._backends = backends  # callable: the Backends of the current table
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        ProcessCollector(registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self):
        metrics = self._metrics
        yield _requests("eas_gateway_endpoint_requests", "Calls of an endpoint, by HTTP status.",
                        ["service"], [((name,), stats) for name, stats in metrics.endpoints.items()])
        yield _requests("eas_gateway_instance_requests", "Calls forwarded to an instance, by HTTP status.",
                        ["service", "instance"], list(metrics.instances.items()))
        unrouted = CounterMetricFamily("eas_gateway_unrouted_requests",
                                       "Calls answered before reaching any endpoint (unknown paths and services).",
                                       labels=["code"])
        for code, count in sorted(metrics.unrouted.items()):
            unrouted.add_metric([str(code)], count)
        yield unrouted
        for scope, labels, items in (
            ("endpoint", ["service"], [((name,), stats) for name, stats in metrics.endpoints.items()]),
            ("instance", ["service", "instance"], list(metrics.instances.items())),
        ):
            received = CounterMetricFamily(f"eas_gateway_{scope}_received_bytes",
                                           f"Request body bytes of calls of an {scope}.", labels=labels)
            sent = CounterMetricFamily(f"eas_gateway_{scope}_sent_bytes",
                                       f"Response body bytes of calls of an {scope}.", labels=labels)
            latency = HistogramMetricFamily(f"eas_gateway_{scope}_latency_seconds",
                                            f"Time to answer a call of an {scope}.", labels=labels)
            for key, stats in items:
                received.add_metric(list(key), stats.bytes_in)
                sent.add_metric(list(key), stats.bytes_out)
                latency.add_metric(list(key), _cumulative_buckets(stats.histogram), stats.latency_ms_sum / 1000)
            yield from (received, sent, latency)
        up = GaugeMetricFamily("eas_gateway_instance_up", "1 while the instance passes the gateway's health checks.",
                               labels=["service", "instance"])
        in_flight = GaugeMetricFamily("eas_gateway_instance_in_flight", "Calls waiting for the instance's answer.",
                                      labels=["service", "instance"])
        for backend in self._backends():
            up.add_metric([backend.service, backend.name], 1 if backend.up else 0)
            in_flight.add_metric([backend.service, backend.name], backend.in_flight)
        yield from (up, in_flight)


def _requests(name: str, documentation: str, labels: list[str], items) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels + ["code"])
    for key, stats in items:
        for code, count in sorted(stats.codes.items()):
            family.add_metric([*key, str(code)], count)
    return family


def _cumulative_buckets(histogram: list[int]) -> list[tuple[str, int]]:
    buckets, running = [], 0
    for bound, count in zip([*LATENCY_BOUNDS_MS, None], histogram, strict=True):
        running += count
        buckets.append(("+Inf" if bound is None else f"{bound / 1000:g}", running))
    return buckets
