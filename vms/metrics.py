"""Metric charts: which window and interval each range preset asks for, and the Chart.js shape.

Each preset's interval keeps a series between ~60 and 2,000 points (NovaCron's cap): dense enough to
show a shape, small enough to draw quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.utils import timezone
from novacron.models import MetricsQuery

from partners.models import Partner

if TYPE_CHECKING:
    import novacron
    from novacron.models import MetricsResult


@dataclass(frozen=True)
class RangePreset:
    key: str
    label: str
    span: timedelta
    interval: str


RANGES: dict[str, RangePreset] = {
    preset.key: preset
    for preset in (
        RangePreset("1h", "1 hour", timedelta(hours=1), "1m"),  # 60 points
        RangePreset("6h", "6 hours", timedelta(hours=6), "5m"),  # 72
        RangePreset("24h", "24 hours", timedelta(hours=24), "5m"),  # 288
        RangePreset("7d", "7 days", timedelta(days=7), "1h"),  # 168
        # Hourly rather than daily: 30 daily points draw a poor line; 720 hourly ones stay well under 2,000.
        RangePreset("30d", "30 days", timedelta(days=30), "1h"),
    )
}
DEFAULT_RANGE = "1h"
AGGREGATES = ("avg", "max")
DEFAULT_AGGREGATE = "avg"
METRICS = ["cpu_usage", "memory_usage", "disk_io", "network_in", "network_out"]
# The charts of one VM, range and aggregate are fetched from NovaCron at most this often.
METRICS_CACHE_SECONDS = 30

# The built-in metrics' names and units (docs/partner-api.md, "Metrics"), for alerts and charts.
METRIC_LABELS = {
    "cpu_usage": ("CPU usage", "%"),
    "memory_usage": ("Memory usage", "%"),
    "disk_io": ("Disk I/O", "MB/s"),
    "network_in": ("Network in", "Mbit/s"),
    "network_out": ("Network out", "Mbit/s"),
}

# One chart per entry: its title, unit and the series it draws.
CHARTS: list[dict[str, Any]] = [
    {"key": "cpu", "title": "CPU usage", "unit": "%", "series": [("cpu_usage", "CPU")]},
    {"key": "memory", "title": "Memory usage", "unit": "%", "series": [("memory_usage", "Memory")]},
    {"key": "disk", "title": "Disk I/O", "unit": "MB/s", "series": [("disk_io", "Disk I/O")]},
    {
        "key": "network",
        "title": "Network",
        "unit": "Mbit/s",
        "series": [("network_in", "In"), ("network_out", "Out")],
    },
]


def window(range_key: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The preset's window, ending at the last whole minute (so a cached answer lines up)."""
    end = (now or timezone.now()).replace(second=0, microsecond=0)
    return end - RANGES[range_key].span, end


def chart_data(result: MetricsResult, *, range_key: str, aggregate: str) -> dict[str, Any]:
    """NovaCron's series reshaped into one Chart.js config per chart: `{x: ms, y: value}` points."""
    by_metric = {series.metric: series for series in result.series}
    charts = []
    for chart in CHARTS:
        datasets = []
        for metric, label in chart["series"]:
            series = by_metric.get(metric)
            points = (
                []
                if series is None
                else [
                    {"x": int(point.timestamp.timestamp() * 1000), "y": round(float(point.value), 3)}
                    for point in series.points
                ]
            )
            datasets.append({"metric": metric, "label": label, "data": points})
        charts.append(
            {
                "key": chart["key"],
                "title": chart["title"],
                "unit": chart["unit"],
                "datasets": datasets,
                "empty": not any(dataset["data"] for dataset in datasets),
            }
        )
    return {
        "range": range_key,
        "interval": RANGES[range_key].interval,
        "aggregate": aggregate,
        "start": result.start.isoformat() if result.start else None,
        "end": result.end.isoformat() if result.end else None,
        "charts": charts,
        "empty": all(chart["empty"] for chart in charts),
    }


def is_known(range_key: str, aggregate: str) -> bool:
    return range_key in RANGES and aggregate in AGGREGATES


def vm_charts(
    *, partner: Partner, client: novacron.Client, vm_id: str, range_key: str, aggregate: str
) -> dict[str, Any]:
    """The VM's charts for a known range and aggregate, cached for METRICS_CACHE_SECONDS per partner.

    NovaCron's errors propagate (and nothing is cached).
    """
    key = f"vms:metrics:{partner.pk}:{vm_id}:{range_key}:{aggregate}"
    data: dict[str, Any] | None = cache.get(key)
    if data is None:
        start, end = window(range_key)
        query = MetricsQuery(
            resource_id=vm_id,
            metrics=METRICS,
            start_time=start,
            end_time=end,
            interval=RANGES[range_key].interval,
            aggregate=aggregate,
        )
        data = chart_data(client.get_metrics(query), range_key=range_key, aggregate=aggregate)
        cache.set(key, data, METRICS_CACHE_SECONDS)
    return data
