"""Metric series: generated built-ins and stored custom metrics, bounded to 2,000 points."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from sandbox.api.errors import ValidationFailed
from sandbox.core.models import CustomMetric, Partner
from sandbox.core.selectors import vm_get
from sandbox.core.serializers import iso
from sandbox.engine.metrics_gen import (
    BUILTIN_METRICS,
    HOT_CPU_TAG,
    INTERVAL_SECONDS,
    bucket_count,
    series_points,
)

MAX_POINTS = 2000


def metric_record(*, partner: Partner, name: str, value: float, unit: str, timestamp: datetime | None,
                  tags: dict[str, str]) -> CustomMetric:  # fmt: skip
    return CustomMetric.objects.create(
        partner=partner, name=name, value=value, unit=unit, timestamp=timestamp or timezone.now(), tags=tags,
        resource_id=tags.get("vm_id", ""),
    )  # fmt: skip


def metric_json(metric: CustomMetric) -> dict[str, Any]:
    return {"name": metric.name, "value": metric.value, "unit": metric.unit, "timestamp": iso(metric.timestamp),
            "tags": metric.tags}  # fmt: skip


def metrics_query(
    *, partner: Partner, resource: str, resource_id: str, names: list[str], start: datetime | None,
    end: datetime | None, interval: str, aggregate: str,
) -> dict[str, Any]:  # fmt: skip
    if resource != "vm":
        raise ValidationFailed.on("resource", "only vm is supported")
    if interval not in INTERVAL_SECONDS:
        raise ValidationFailed.on("interval", "must be one of 1m, 5m, 1h, 1d")
    if aggregate not in ("avg", "max"):
        raise ValidationFailed.on("aggregate", "must be avg or max")
    end = (end or timezone.now()).astimezone(UTC)
    start = (start or end - timedelta(hours=1)).astimezone(UTC)
    if start >= end:
        raise ValidationFailed.on("start", "must be before end")
    start_epoch, end_epoch = int(start.timestamp()), int(end.timestamp())
    if bucket_count(start_epoch=start_epoch, end_epoch=end_epoch, interval=interval) > MAX_POINTS:
        raise ValidationFailed.on(
            "interval", f"the range holds more than {MAX_POINTS} points; use a coarser interval"
        )
    vm = vm_get(partner=partner, vm_id=resource_id)
    names = list(dict.fromkeys(names)) or ["cpu_usage"]
    hot = vm.tags.get(HOT_CPU_TAG[0]) == HOT_CPU_TAG[1]
    series = []
    for name in names:
        if name in BUILTIN_METRICS:
            points = series_points(vm.vm_id, name, start_epoch=start_epoch, end_epoch=end_epoch, interval=interval,
                                   aggregate=aggregate, hot_cpu=hot)  # fmt: skip
            # No data before the VM existed.
            born = int(vm.created_at.timestamp()) // INTERVAL_SECONDS[interval] * INTERVAL_SECONDS[interval]
            points = [(at, value) for at, value in points if at >= born]
            unit = BUILTIN_METRICS[name].unit
        else:
            points, unit = _custom_points(
                partner, vm.vm_id, name, start_epoch, end_epoch, interval, aggregate
            )
        series.append({
            "metric": name, "unit": unit,
            "points": [{"timestamp": iso(datetime.fromtimestamp(at, UTC)), "value": value} for at, value in points],
        })  # fmt: skip
    return {"resource": resource, "resource_id": vm.vm_id, "interval": interval, "aggregate": aggregate,
            "start": iso(start), "end": iso(end), "series": series}  # fmt: skip


def _custom_points(partner: Partner, vm_id: str, name: str, start_epoch: int, end_epoch: int, interval: str,
                   aggregate: str) -> tuple[list[tuple[int, float]], str]:  # fmt: skip
    width = INTERVAL_SECONDS[interval]
    stored = CustomMetric.objects.filter(
        partner=partner, resource_id=vm_id, name=name,
        timestamp__gte=datetime.fromtimestamp(start_epoch, UTC), timestamp__lt=datetime.fromtimestamp(end_epoch, UTC),
    ).order_by("timestamp")  # fmt: skip
    buckets: dict[int, list[float]] = defaultdict(list)
    unit = ""
    for metric in stored:
        buckets[int(metric.timestamp.timestamp()) // width * width].append(metric.value)
        unit = metric.unit or unit
    combine = max if aggregate == "max" else (lambda values: sum(values) / len(values))
    return [(at, round(combine(values), 4)) for at, values in sorted(buckets.items())], unit
