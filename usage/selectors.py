"""Reads of the usage rollups: a month's figures by one breakdown, and the CSV's detail rows."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Max, Sum

from partners.models import Partner, Quota
from usage.models import DimensionDayUsage, DimensionMonthUsage, UsageDay, UsageRefresh, VMDayUsage
from usage.services import PLACEMENT_DIMENSIONS, day_bounds, zone_of

CHART_SERIES = 8  # the largest values get a series each; the rest are stacked as "other"
TABLE_ROWS = 50
OTHER = "other"


def month_days(month: date) -> list[date]:
    last = calendar.monthrange(month.year, month.month)[1]
    return [month.replace(day=day) for day in range(1, last + 1)]


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def dimensions(*, partner: Partner, month: date) -> list[str]:
    """The breakdowns offered: placement, then every tag key seen in the month or the one before."""
    tags = (
        DimensionMonthUsage.objects.filter(
            partner=partner, month__in=[month, previous_month(month)], dimension__startswith="tag:"
        )
        .values_list("dimension", flat=True)
        .distinct()
    )
    return [*PLACEMENT_DIMENSIONS, *sorted(set(tags))]


@dataclass
class UsageRow:
    value: str
    vm_hours: float
    vcpu_hours: float
    memory_gb_hours: float
    previous_vcpu_hours: float

    @property
    def change(self) -> float | None:
        if not self.previous_vcpu_hours:
            return None
        return (self.vcpu_hours - self.previous_vcpu_hours) / self.previous_vcpu_hours


@dataclass
class UsageMonth:
    month: date
    dimension: str
    days: list[date]
    rows: list[UsageRow]
    hidden_rows: int
    chart: dict[str, Any]
    totals: dict[str, float]
    previous_totals: dict[str, float]
    vms_created: list[tuple[date, int]]
    create_quota: int | None
    computed_at: datetime | None
    refreshed_at: datetime | None
    missing_days: int
    # Every state change the portal recorded up to this instant is in the figures.
    counted_until: datetime | None = None
    extras: dict[str, Any] = field(default_factory=dict)


SUMS = {
    "vm_hours": Sum("vm_hours"),
    "vcpu_hours": Sum("vcpu_hours"),
    "memory_gb_hours": Sum("memory_gb_hours"),
}
DAY_SUMS = {
    **SUMS,
    "vms_created": Sum("vms_created"),
    "migrations": Sum("migrations"),
    "migration_gb_moved": Sum("migration_gb_moved"),
    "migration_downtime_seconds": Sum("migration_downtime_seconds"),
}


def _totals(partner: Partner, month: date) -> dict[str, float]:
    days = month_days(month)
    figures = UsageDay.objects.filter(partner=partner, day__range=(days[0], days[-1])).aggregate(**DAY_SUMS)
    return {name: float(value or 0) for name, value in figures.items()}


def _midday_ms(day: date, zone: ZoneInfo) -> int:
    start, end = day_bounds(day, zone)
    return round((start.timestamp() + end.timestamp()) / 2 * 1000)


def usage_month(*, partner: Partner, month: date, dimension: str) -> UsageMonth:
    days = month_days(month)
    zone = zone_of(partner)
    values = DimensionDayUsage.objects.filter(
        partner=partner, dimension=dimension, day__range=(days[0], days[-1])
    )
    ranked = list(
        DimensionMonthUsage.objects.filter(partner=partner, month=month, dimension=dimension)
        .order_by("-vcpu_hours", "value")
        .values("value", "vm_hours", "vcpu_hours", "memory_gb_hours")
    )
    previous = dict(
        DimensionMonthUsage.objects.filter(
            partner=partner, month=previous_month(month), dimension=dimension
        ).values_list("value", "vcpu_hours")
    )
    rows = [
        UsageRow(
            r["value"], r["vm_hours"], r["vcpu_hours"], r["memory_gb_hours"], previous.get(r["value"], 0.0)
        )
        for r in ranked
    ]
    charted = [row.value for row in rows[:CHART_SERIES]]
    series: dict[str, list[float]] = {value: [0.0] * len(days) for value in charted}
    index = {day: n for n, day in enumerate(days)}
    for day, value, vcpu in values.filter(value__in=charted).values_list("day", "value", "vcpu_hours"):
        series[value][index[day]] += vcpu
    if len(rows) > CHART_SERIES:
        series[OTHER] = [0.0] * len(days)
        daily = dict(
            UsageDay.objects.filter(partner=partner, day__range=(days[0], days[-1])).values_list(
                "day", "vcpu_hours"
            )
        )
        for day, total in daily.items():
            series[OTHER][index[day]] = max(0.0, total - sum(series[v][index[day]] for v in charted))
    summaries = UsageDay.objects.filter(partner=partner, day__range=(days[0], days[-1]))
    created = list(summaries.order_by("day").values_list("day", "vms_created"))
    quota = (
        Quota.objects.filter(partner=partner, name="vm_create_per_day")
        .values_list("limit", flat=True)
        .first()
    )
    refresh = UsageRefresh.objects.filter(partner=partner).first()
    computed = summaries.aggregate(latest=Max("computed_at"))["latest"]
    return UsageMonth(
        month=month,
        dimension=dimension,
        days=days,
        rows=rows[:TABLE_ROWS],
        hidden_rows=max(0, len(rows) - TABLE_ROWS),
        chart={
            "labels": [day.isoformat() for day in days],
            # Where each day's bar stands on the time axis: the middle of that day in the partner's
            # zone (the one the days are counted in), an instant the chart labels in the person's zone.
            "x": [_midday_ms(day, zone) for day in days],
            "day_zone": str(zone),
            "unit": "vCPU-hours",
            "datasets": [
                {"label": value, "data": [round(v, 2) for v in data]} for value, data in series.items()
            ],
        },
        totals=_totals(partner, month),
        previous_totals=_totals(partner, previous_month(month)),
        vms_created=[(day, count) for day, count in created if count],
        create_quota=quota,
        computed_at=computed,
        refreshed_at=refresh.refreshed_at if refresh else None,
        counted_until=refresh.recorded_until if refresh else None,
        missing_days=len(days) - len(created),
    )


CSV_COLUMNS = [
    "day",
    "vm_id",
    "vm_name",
    "cloud_provider",
    "region",
    "cluster",
    "cpu_cores",
    "memory_gb",
    "tags",
    "vm_hours",
    "vcpu_hours",
    "memory_gb_hours",
]


def usage_detail_rows(*, partner: Partner, month: date) -> Iterator[list[Any]]:
    """One row per VM per day (per size, placement and tags it had), read in chunks: memory stays flat."""
    days = month_days(month)
    rows = (
        VMDayUsage.objects.filter(partner=partner, day__range=(days[0], days[-1]))
        .order_by("day", "vm_id", "pk")
        .values_list(*CSV_COLUMNS)
    )
    for row in rows.iterator(chunk_size=2000):
        *head, tags, vm_hours, vcpu_hours, memory_gb_hours = row
        labels = "; ".join(f"{key}={value}" for key, value in sorted((tags or {}).items()))
        yield [*head, labels, f"{vm_hours:.4f}", f"{vcpu_hours:.4f}", f"{memory_gb_hours:.4f}"]
