"""Chart series of a service or instance: the stored windows of every gateway added up per window."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from services.models import MetricPoint
from services.monitoring.counts import CallCounts


def _counts(row: MetricPoint) -> CallCounts:
    return CallCounts(row.calls, row.s2xx, row.s4xx, row.s5xx, row.bytes_in, row.bytes_out, row.latency_ms_sum,
                      CallCounts.histogram_from_json(row.latency_histogram))


def call_series(service: str, since: datetime, until: datetime | None = None, instance: str = "") -> list[dict]:
    """One entry per window in time order: rates per second, bytes per second and latency percentiles."""
    rows = MetricPoint.objects.filter(service=service, instance=instance, window_start__gte=since)
    if until is not None:
        rows = rows.filter(window_start__lt=until)
    windows: dict[datetime, CallCounts] = defaultdict(CallCounts)
    seconds: dict[datetime, float] = {}
    for row in rows:
        windows[row.window_start] += _counts(row)
        seconds[row.window_start] = row.window_seconds
    series = []
    for start in sorted(windows):
        counts, span = windows[start], seconds[start]
        series.append({
            "time": start,
            "qps": counts.calls / span,
            "2xx_per_second": counts.s2xx / span,
            "4xx_per_second": counts.s4xx / span,
            "5xx_per_second": counts.s5xx / span,
            "in_kb_per_second": counts.bytes_in / 1024 / span,
            "out_kb_per_second": counts.bytes_out / 1024 / span,
            "latency_avg_ms": counts.latency_ms_sum / counts.calls if counts.calls else None,
            "latency_p50_ms": counts.percentile_ms(0.50),
            "latency_p90_ms": counts.percentile_ms(0.90),
            "latency_p99_ms": counts.percentile_ms(0.99),
        })
    return series
