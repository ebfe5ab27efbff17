"""Writing call metrics windows to the database and forgetting old ones."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from services.models import MetricPoint
from services.monitoring.counts import CallCounts

PERCENTILES = {"latency_p50_ms": 0.50, "latency_p90_ms": 0.90, "latency_p99_ms": 0.99}


def point(service: str, instance: str, window_start: datetime, window_seconds: float,
          counts: CallCounts) -> MetricPoint:
    return MetricPoint(
        service=service, instance=instance, window_start=window_start, window_seconds=window_seconds,
        calls=counts.calls, s2xx=counts.s2xx, s4xx=counts.s4xx, s5xx=counts.s5xx,
        bytes_in=counts.bytes_in, bytes_out=counts.bytes_out, latency_ms_sum=counts.latency_ms_sum,
        latency_histogram=counts.histogram_json(),
        **{name: counts.percentile_ms(fraction) for name, fraction in PERCENTILES.items()},
    )


def write_window(window_start: datetime, window_seconds: float,
                 rows: list[tuple[str, str, CallCounts]]) -> None:
    """Store one window: (service, instance or "", counts) for everything that saw calls."""
    MetricPoint.objects.bulk_create(
        [point(service, instance, window_start, window_seconds, counts) for service, instance, counts in rows]
    )


def delete_expired(retention: timedelta) -> int:
    """Drop windows older than `retention`; returns how many rows went."""
    deleted, _ = MetricPoint.objects.filter(window_start__lt=timezone.now() - retention).delete()
    return deleted
