"""Call counts of one service or instance over a time window, and latency percentiles.

Latencies are kept as a fixed-bucket histogram, so windows from several gateway processes (or
several windows of one) add up exactly and percentiles are computed after merging.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Upper bounds (milliseconds) of the latency buckets; a last, unbounded bucket follows.
LATENCY_BOUNDS_MS = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000)
BUCKET_COUNT = len(LATENCY_BOUNDS_MS) + 1


def empty_histogram() -> list[int]:
    return [0] * BUCKET_COUNT


@dataclass(frozen=True)
class CallCounts:
    calls: int = 0
    s2xx: int = 0
    s4xx: int = 0
    s5xx: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    latency_ms_sum: float = 0.0
    histogram: tuple[int, ...] = field(default=tuple(empty_histogram()))

    def __add__(self, other: CallCounts) -> CallCounts:
        return CallCounts(
            self.calls + other.calls, self.s2xx + other.s2xx, self.s4xx + other.s4xx,
            self.s5xx + other.s5xx, self.bytes_in + other.bytes_in, self.bytes_out + other.bytes_out,
            self.latency_ms_sum + other.latency_ms_sum,
            tuple(a + b for a, b in zip(self.histogram, other.histogram, strict=True)),
        )

    def __sub__(self, earlier: CallCounts) -> CallCounts:
        return CallCounts(
            self.calls - earlier.calls, self.s2xx - earlier.s2xx, self.s4xx - earlier.s4xx,
            self.s5xx - earlier.s5xx, self.bytes_in - earlier.bytes_in, self.bytes_out - earlier.bytes_out,
            self.latency_ms_sum - earlier.latency_ms_sum,
            tuple(a - b for a, b in zip(self.histogram, earlier.histogram, strict=True)),
        )

    def percentile_ms(self, fraction: float) -> float | None:
        return histogram_percentile(self.histogram, fraction)

    def histogram_json(self) -> dict[str, int]:
        """Non-empty buckets keyed by their upper bound in ms ("+Inf" for the last)."""
        labels = [_bound_label(b) for b in LATENCY_BOUNDS_MS] + ["+Inf"]
        return {label: count for label, count in zip(labels, self.histogram, strict=True) if count}

    @classmethod
    def histogram_from_json(cls, buckets: dict[str, int]) -> tuple[int, ...]:
        index = {_bound_label(b): i for i, b in enumerate(LATENCY_BOUNDS_MS)} | {"+Inf": BUCKET_COUNT - 1}
        histogram = empty_histogram()
        for label, count in buckets.items():
            if label in index:
                histogram[index[label]] += count
        return tuple(histogram)


def _bound_label(bound: float) -> str:
    return f"{bound:g}"


def histogram_percentile(histogram, fraction: float) -> float | None:
    """Latency (ms) below which `fraction` of the calls fell, interpolated inside its bucket.

    Calls in the unbounded last bucket are reported at the largest bound.
    """
    total = sum(histogram)
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    lower = 0.0
    for count, upper in zip(histogram, LATENCY_BOUNDS_MS, strict=False):
        if count and seen + count >= rank:
            return round(lower + (upper - lower) * (rank - seen) / count, 3)
        seen += count
        lower = upper
    return float(LATENCY_BOUNDS_MS[-1])
