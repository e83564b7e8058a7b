"""Deterministic, plausible VM metrics computed on demand (nothing stored).

A value at minute m is a function of (vm_id, metric, m) alone: a per-VM base level, a daily cycle
with a per-VM phase, and noise from a 64-bit mix of the three. Coarser intervals aggregate evenly
spaced minutes of the bucket, so the same query always answers the same numbers.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

INTERVAL_SECONDS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
MAX_SAMPLES_PER_BUCKET = 60
_MASK = (1 << 64) - 1
HOT_CPU_TAG = ("sandbox.cpu", "hot")


@dataclass(frozen=True)
class BuiltinMetric:
    unit: str
    low: float
    high: float
    ceiling: float  # physical or sandbox maximum (percentages stop at 100)


BUILTIN_METRICS: dict[str, BuiltinMetric] = {
    # Untagged CPU stays under 85 % so only tagged VMs ever cross the alert threshold.
    "cpu_usage": BuiltinMetric("percent", 8.0, 55.0, 85.0),
    "memory_usage": BuiltinMetric("percent", 25.0, 80.0, 97.0),
    "disk_io": BuiltinMetric("MB/s", 2.0, 120.0, 2000.0),
    "network_in": BuiltinMetric("Mbit/s", 5.0, 400.0, 10000.0),
    "network_out": BuiltinMetric("Mbit/s", 2.0, 250.0, 10000.0),
}


def _mix(value: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread integer hash."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def seed_of(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest(), "big")


def unit_interval(seed: int, salt: int = 0) -> float:
    """A deterministic float in [0, 1) from a seed."""
    return _mix(seed ^ salt) / float(1 << 64)


class VMSeries:
    def __init__(self, vm_id: str, metric: str, *, hot_cpu: bool = False) -> None:
        spec = BUILTIN_METRICS[metric]
        self.seed = seed_of(vm_id, metric)
        self.spec = spec
        self.hot = hot_cpu and metric == "cpu_usage"
        self.base = spec.low + (spec.high - spec.low) * unit_interval(self.seed, 1)
        self.cycle_phase = 2 * math.pi * unit_interval(self.seed, 2)
        self.cycle_amplitude = 0.15 + 0.2 * unit_interval(self.seed, 3)

    def at_minute(self, minute: int) -> float:
        noise = unit_interval(self.seed, minute) * 2.0 - 1.0
        if self.hot:
            return round(92.0 + 3.5 * (noise + 1.0), 2)  # 92..99: a VM pinned at the top
        daily = math.sin(2 * math.pi * (minute % 1440) / 1440.0 + self.cycle_phase)
        value = self.base * (1.0 + self.cycle_amplitude * daily + 0.18 * noise)
        return round(min(self.spec.ceiling, max(0.0, value)), 2)

    def bucket(self, start_minute: int, minutes: int, aggregate: str) -> float:
        samples = min(minutes, MAX_SAMPLES_PER_BUCKET)
        step = minutes / samples
        values = [self.at_minute(start_minute + int(i * step)) for i in range(samples)]
        if aggregate == "max":
            return max(values)
        return round(sum(values) / len(values), 2)


def series_points(
    vm_id: str,
    metric: str,
    *,
    start_epoch: int,
    end_epoch: int,
    interval: str,
    aggregate: str,
    hot_cpu: bool = False,
) -> list[tuple[int, float]]:
    """Points (bucket start epoch, value) for buckets that start in [start, end)."""
    width = INTERVAL_SECONDS[interval]
    series = VMSeries(vm_id, metric, hot_cpu=hot_cpu)
    first = -(-start_epoch // width) * width
    return [
        (bucket_start, series.bucket(bucket_start // 60, width // 60, aggregate))
        for bucket_start in range(first, end_epoch, width)
    ]


def bucket_count(*, start_epoch: int, end_epoch: int, interval: str) -> int:
    width = INTERVAL_SECONDS[interval]
    first = -(-start_epoch // width) * width
    return max(0, -(-(end_epoch - first) // width))
