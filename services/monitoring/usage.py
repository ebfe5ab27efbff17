"""Resource usage of instances (SPEC M1: CPU cores, memory MB, GPU utilisation).

Agents sample every instance's process tree and send the samples through the broker; the
control plane stores them as `UsagePoint` rows that the console charts per service (instances
added up per sample round) and per instance.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import timezone

from services.models import Instance, UsagePoint


def record(samples: list[dict], at: datetime | None = None) -> int:
    """Store samples `{"instance_id", "cpu_cores", "memory_mb", "gpu_utilization"}`; returns rows."""
    at = at or timezone.now()
    names = dict(Instance.objects.filter(pk__in=[s["instance_id"] for s in samples])
                 .values_list("pk", "name"))
    services = dict(Instance.objects.filter(pk__in=names).values_list("pk", "service__name"))
    rows = [UsagePoint(service=services[s["instance_id"]], instance=names[s["instance_id"]], time=at,
                       cpu_cores=s["cpu_cores"], memory_mb=s["memory_mb"],
                       gpu_utilization=s.get("gpu_utilization", 0))
            for s in samples if s["instance_id"] in names]
    UsagePoint.objects.bulk_create(rows)
    return len(rows)


def usage_series(service: str, since: datetime, until: datetime | None = None, instance: str = "",
                 bucket_seconds: int = 10) -> list[dict]:
    """One entry per time bucket: the service's instances added up (or one instance's own)."""
    rows = UsagePoint.objects.filter(service=service, time__gte=since)
    if until is not None:
        rows = rows.filter(time__lt=until)
    if instance:
        rows = rows.filter(instance=instance)
    buckets: dict[datetime, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        start = datetime.fromtimestamp(row.time.timestamp() // bucket_seconds * bucket_seconds, row.time.tzinfo)
        buckets[start][row.instance] = row  # the latest sample of each instance in the bucket
    return [
        {
            "time": start,
            "cpu_cores": round(sum(r.cpu_cores for r in latest.values()), 3),
            "memory_mb": round(sum(r.memory_mb for r in latest.values()), 1),
            "gpu_utilization": max((r.gpu_utilization for r in latest.values()), default=0),
            "instances": len(latest),
        }
        for start, latest in sorted(buckets.items())
    ]


def delete_expired(retention: timedelta) -> int:
    deleted, _ = UsagePoint.objects.filter(time__lt=timezone.now() - retention).delete()
    return deleted
