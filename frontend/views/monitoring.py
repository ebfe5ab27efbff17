"""Monitoring charts of a service or one of its instances (SPEC M1, seed 6.6's metrics).

Call metrics are the gateway's stored windows (services.monitoring.series), put on a fixed grid
so that windows without calls read as zero and long ranges stay a few hundred points. Resource
usage (CPU cores, memory MB, GPU utilisation) is what the node agents sampled from the
instances' processes (services.monitoring.usage), on the same grid: the service's instances
added up, or the chosen instance alone.
"""
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from frontend import tables
from frontend.views.common import console_page, find_service
from services.gateway.config import GatewayConfig
from services.models import Instance
from services.monitoring.series import call_series
from services.monitoring.usage import usage_series

RANGES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "6h": timedelta(hours=6),
          "24h": timedelta(hours=24), "7d": timedelta(days=7)}
MAX_POINTS = 360
RATE_FIELDS = ("qps", "2xx_per_second", "4xx_per_second", "5xx_per_second", "in_kb_per_second",
               "out_kb_per_second")
LATENCY_FIELDS = ("latency_avg_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms")
USAGE_FIELDS = ("cpu_cores", "memory_mb", "gpu_utilization")


@console_page
def page(request, principal, region, name):
    service = find_service(principal, region, name, "DescribeServiceMonitoring")
    row = tables.service_rows(principal, [service])[0]
    names = list(service.instances.filter(status__in=Instance.LIVE).values_list("name", flat=True))
    return render(request, "frontend/services/monitoring.html", {
        "service": service, "row": row, "can": row.can, "instances": names,
        "instance": request.GET.get("instance", ""), "ranges": RANGES,
        "range": request.GET.get("range") if request.GET.get("range") in RANGES else "1h",
    })


@console_page
def data(request, principal, region, name):
    """Chart data as columns (uPlot's layout): times in seconds, then one list per series."""
    service = find_service(principal, region, name, "DescribeServiceMonitoring")
    span = RANGES.get(request.GET.get("range"), RANGES["1h"])
    instance = request.GET.get("instance", "")
    now = timezone.now()
    series = call_series(service.name, now - span, instance=instance)
    step = max(GatewayConfig.from_env().metrics_flush_seconds, span.total_seconds() / MAX_POINTS)
    usage = usage_series(service.name, now - span, instance=instance, bucket_seconds=int(step))
    return JsonResponse({"calls": on_grid(series, now - span, now, step), "step": step,
                         "usage": usage_on_grid(usage, now - span, now, int(step)), "now": now.timestamp()})


def usage_on_grid(series: list[dict], start: datetime, end: datetime, step: int) -> dict:
    """Usage buckets placed on the chart grid; a bucket without samples stays empty (None)."""
    first = int(start.timestamp() // step)
    count = int(end.timestamp() // step) - first + 1
    columns = {"time": [(first + i) * step for i in range(count)]}
    for field in USAGE_FIELDS:
        columns[field] = [None] * count
    for point in series:
        index = int(point["time"].timestamp() // step) - first
        if 0 <= index < count:
            for field in USAGE_FIELDS:
                columns[field][index] = point[field]
    return columns


def on_grid(series: list[dict], start: datetime, end: datetime, step: float) -> dict:
    """Windows averaged into buckets of `step` seconds; a bucket without windows had no calls.

    Rates are summed over the windows of a bucket and divided by the bucket's length; latency
    percentiles are averaged, weighted by calls (an approximation once windows are merged).
    """
    window = GatewayConfig.from_env().metrics_flush_seconds
    first = int(start.timestamp() // step)
    count = int(end.timestamp() // step) - first + 1
    rates = defaultdict(lambda: [0.0] * count)
    weighted = defaultdict(lambda: [0.0] * count)
    weights = [0.0] * count
    for point in series:
        index = int(point["time"].astimezone(UTC).timestamp() // step) - first
        if not 0 <= index < count:
            continue
        for field in RATE_FIELDS:
            rates[field][index] += point[field] * window / step
        calls = point["qps"] * window
        weights[index] += calls
        for field in LATENCY_FIELDS:
            if point[field] is not None:
                weighted[field][index] += point[field] * calls
    columns = {"time": [(first + i) * step for i in range(count)]}
    for field in RATE_FIELDS:
        columns[field] = [round(v, 4) for v in rates[field]]
    total = [columns["2xx_per_second"][i] + columns["4xx_per_second"][i] + columns["5xx_per_second"][i]
             for i in range(count)]
    for code in ("2xx", "4xx", "5xx"):
        columns[f"{code}_ratio"] = [round(100 * columns[f"{code}_per_second"][i] / total[i], 2) if total[i] else None
                                    for i in range(count)]
    for field in LATENCY_FIELDS:
        columns[field] = [round(weighted[field][i] / weights[i], 3) if weights[i] else None for i in range(count)]
    return columns
