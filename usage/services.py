"""Turning VM state intervals into daily usage, in the partner's time zone.

How each figure is derived (the page says the same):
- VM-hours: hours a VM was `running` or `migrating` (a migrating VM keeps its resources on both sides);
  provisioning, stopped, error and deleted count nothing.
- vCPU-hours and memory GB-hours: each of those hours times the VM's `cpu_cores` / `memory_gb` at the time.
- Migrations: those that completed that day; GB moved is `bytes_transferred` (10^9 bytes per GB);
  downtime is NovaCron's `downtime_ms` for a live migration and the whole run for a cold one.
- VMs created: VMs whose NovaCron `created_at` falls on the day.

`usage_refresh` recomputes only the days that can have changed since its last run: those an interval
written since then covers, and every day from the last run to now (open intervals grow).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max, Min, Q, Sum
from django.utils import timezone

from partners.models import Partner
from usage.models import DimensionDayUsage, DimensionMonthUsage, UsageDay, UsageRefresh, VMDayUsage
from vms.models import Migration, VMStateInterval

BILLABLE_STATUSES = frozenset({"running", "migrating"})
PLACEMENT_DIMENSIONS = ("cloud", "region", "cluster")
NO_VALUE = "(none)"
GB = 10**9
# Days recomputed per read of the intervals: bounds memory whatever the fleet's history.
DAYS_PER_BATCH = 7


def zone_of(partner: Partner) -> ZoneInfo:
    return ZoneInfo(partner.time_zone or "UTC")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# --- per VM and day -----------------------------------------------------------------------------


@dataclass
class _Piece:
    vm_id: str
    vm_name: str
    cloud_provider: str
    region: str
    cluster: str
    tags: dict[str, str]
    cpu_cores: int
    memory_gb: int
    seconds: float = 0.0

    def key(self) -> tuple[Any, ...]:
        return (
            self.vm_id,
            self.cloud_provider,
            self.region,
            self.cluster,
            tuple(sorted(self.tags.items())),
            self.cpu_cores,
            self.memory_gb,
        )


INTERVAL_COLUMNS = (
    "vm_id",
    "started_at",
    "ended_at",
    "status",
    "vm_name",
    "cpu_cores",
    "memory_gb",
    "cloud_provider",
    "region",
    "cluster",
    "tags",
)


def _billable_pieces(
    partner: Partner, days: list[date], zone: ZoneInfo, now: datetime
) -> dict[date, dict[tuple[Any, ...], _Piece]]:
    """Running seconds per day and per (VM, size, placement, tags), from one read of the intervals."""
    start, _ = day_bounds(days[0], zone)
    _, end = day_bounds(days[-1], zone)
    bounds = [day_bounds(day, zone) for day in days]
    rows = (
        VMStateInterval.objects.filter(partner=partner, started_at__lt=min(end, now))
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .order_by("vm_id", "started_at")
        .values_list(*INTERVAL_COLUMNS)
    )
    pieces: dict[date, dict[tuple[Any, ...], _Piece]] = defaultdict(dict)
    previous: tuple[Any, ...] | None = None

    def add(row: tuple[Any, ...], until: datetime | None) -> None:
        vm_id, started, ended, status, name, cpu, memory, cloud, region, cluster, tags = row
        if status not in BILLABLE_STATUSES:
            return
        stop = min(x for x in (ended, until, now) if x is not None)
        for day, (day_start, day_end) in zip(days, bounds, strict=True):
            seconds = (min(stop, day_end) - max(started, day_start)).total_seconds()
            if seconds <= 0:
                continue
            piece = _Piece(vm_id, name, cloud, region, cluster, dict(tags or {}), cpu, memory)
            held = pieces[day].setdefault(piece.key(), piece)
            held.seconds += seconds

    # Each row ends where the VM's next row starts, whatever its own `ended_at` says.
    for row in rows.iterator(chunk_size=2000):
        if previous is not None:
            add(previous, row[1] if row[0] == previous[0] else None)
        previous = row
    if previous is not None:
        add(previous, None)
    return pieces


def _vm_day_rows(partner: Partner, day: date, pieces: Iterable[_Piece]) -> list[VMDayUsage]:
    return [
        VMDayUsage(
            partner=partner,
            day=day,
            vm_id=p.vm_id,
            vm_name=p.vm_name,
            cloud_provider=p.cloud_provider,
            region=p.region,
            cluster=p.cluster,
            tags=p.tags,
            cpu_cores=p.cpu_cores,
            memory_gb=p.memory_gb,
            vm_hours=p.seconds / 3600,
            vcpu_hours=p.seconds * p.cpu_cores / 3600,
            memory_gb_hours=p.seconds * p.memory_gb / 3600,
        )
        for p in pieces
    ]


def dimension_values(row: VMDayUsage, tag_keys: Iterable[str]) -> Iterator[tuple[str, str]]:
    yield "cloud", row.cloud_provider or NO_VALUE
    yield "region", row.region or NO_VALUE
    yield "cluster", row.cluster or NO_VALUE
    for key in tag_keys:
        yield f"tag:{key}", str(row.tags.get(key) or NO_VALUE)


def _dimension_rows(partner: Partner, day: date, rows: list[VMDayUsage]) -> list[DimensionDayUsage]:
    # Every VM of the day appears under every tag key seen that day, as `(none)` when it lacks it,
    # so each breakdown adds up to the day's total.
    tag_keys = sorted({key for row in rows for key in row.tags})
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in rows:
        for dimension_value in dimension_values(row, tag_keys):
            total = totals[dimension_value]
            total[0] += row.vm_hours
            total[1] += row.vcpu_hours
            total[2] += row.memory_gb_hours
    return [
        DimensionDayUsage(
            partner=partner,
            day=day,
            dimension=dimension,
            value=value[:255],
            vm_hours=t[0],
            vcpu_hours=t[1],
            memory_gb_hours=t[2],
        )
        for (dimension, value), t in totals.items()
    ]


def _migration_figures(partner: Partner, days: list[date], zone: ZoneInfo) -> dict[date, list[float]]:
    start, _ = day_bounds(days[0], zone)
    _, end = day_bounds(days[-1], zone)
    figures: dict[date, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    completed = Migration.objects.filter(
        partner=partner, status=Migration.Status.COMPLETED, finished_at__gte=start, finished_at__lt=end
    ).values_list("finished_at", "started_at", "migration_type", "bytes_transferred", "metrics")
    for finished, started, kind, moved, metrics in completed.iterator():
        if kind == "cold" and started is not None:
            downtime = max(0.0, (finished - started).total_seconds())
        else:
            downtime = float((metrics or {}).get("downtime_ms") or 0) / 1000
        figure = figures[local_day(finished, zone)]
        figure[0] += 1
        figure[1] += moved / GB
        figure[2] += downtime
    return figures


def _created(partner: Partner, days: list[date], zone: ZoneInfo) -> dict[date, int]:
    start, _ = day_bounds(days[0], zone)
    _, end = day_bounds(days[-1], zone)
    created = (
        VMStateInterval.objects.filter(partner=partner, vm_created_at__gte=start, vm_created_at__lt=end)
        .values_list("vm_id", "vm_created_at")
        .distinct()
    )
    counted: dict[date, set[str]] = defaultdict(set)
    for vm_id, moment in created.iterator():
        counted[local_day(moment, zone)].add(vm_id)
    return {day: len(ids) for day, ids in counted.items()}


@transaction.atomic
def usage_days_compute(*, partner: Partner, days: list[date], now: datetime) -> None:
    """Recompute these days of the partner (consecutive or not) from the intervals."""
    zone = zone_of(partner)
    for batch in _batches(sorted(set(days))):
        pieces = _billable_pieces(partner, batch, zone, now)
        migrations = _migration_figures(partner, batch, zone)
        created = _created(partner, batch, zone)
        VMDayUsage.objects.filter(partner=partner, day__in=batch).delete()
        DimensionDayUsage.objects.filter(partner=partner, day__in=batch).delete()
        UsageDay.objects.filter(partner=partner, day__in=batch).delete()
        summaries = []
        for day in batch:
            rows = _vm_day_rows(partner, day, pieces.get(day, {}).values())
            VMDayUsage.objects.bulk_create(rows, batch_size=2000)
            DimensionDayUsage.objects.bulk_create(_dimension_rows(partner, day, rows), batch_size=2000)
            moved = migrations.get(day, [0, 0.0, 0.0])
            summaries.append(
                UsageDay(
                    partner=partner,
                    day=day,
                    computed_at=now,
                    vm_hours=sum(r.vm_hours for r in rows),
                    vcpu_hours=sum(r.vcpu_hours for r in rows),
                    memory_gb_hours=sum(r.memory_gb_hours for r in rows),
                    vms_created=created.get(day, 0),
                    migrations=int(moved[0]),
                    migration_gb_moved=moved[1],
                    migration_downtime_seconds=moved[2],
                )
            )
        UsageDay.objects.bulk_create(summaries)
    for month in sorted({day.replace(day=1) for day in days}):
        _month_compute(partner, month)


def _month_compute(partner: Partner, month: date) -> None:
    """The month's totals per breakdown value, from its days (one grouped read, one write)."""
    following = (month + timedelta(days=32)).replace(day=1)
    totals = (
        DimensionDayUsage.objects.filter(partner=partner, day__gte=month, day__lt=following)
        .values("dimension", "value")
        .annotate(vm=Sum("vm_hours"), vcpu=Sum("vcpu_hours"), memory=Sum("memory_gb_hours"))
    )
    rows = [
        DimensionMonthUsage(
            partner=partner,
            month=month,
            dimension=t["dimension"],
            value=t["value"],
            vm_hours=t["vm"],
            vcpu_hours=t["vcpu"],
            memory_gb_hours=t["memory"],
        )
        for t in totals
    ]
    DimensionMonthUsage.objects.filter(partner=partner, month=month).delete()
    DimensionMonthUsage.objects.bulk_create(rows, batch_size=2000)


def _batches(days: list[date]) -> Iterator[list[date]]:
    """Runs of consecutive days, at most DAYS_PER_BATCH long."""
    batch: list[date] = []
    for day in days:
        if batch and (day - batch[-1] != timedelta(days=1) or len(batch) == DAYS_PER_BATCH):
            yield batch
            batch = []
        batch.append(day)
    if batch:
        yield batch


def days_to_refresh(*, partner: Partner, now: datetime) -> tuple[set[date], datetime | None]:
    """The days whose figures may have changed since the last refresh, and the newest write seen."""
    zone = zone_of(partner)
    refresh = UsageRefresh.objects.filter(partner=partner).first()
    written = VMStateInterval.objects.filter(partner=partner)
    if refresh is not None:
        written = written.filter(recorded_at__gt=refresh.recorded_until)
    span = written.aggregate(first=Min("started_at"), created=Min("vm_created_at"), newest=Max("recorded_at"))
    days: set[date] = set()
    today = local_day(now, zone)
    if refresh is not None:
        days |= set(_days(local_day(refresh.refreshed_at, zone), today))
    if span["first"] is not None:
        # A written row touches its own days and its neighbour's end: from its start to now.
        # Its VM's creation day counts it among the day's creations.
        first = min(x for x in (span["first"], span["created"]) if x is not None)
        days |= set(_days(local_day(first, zone), today))
    moved = Migration.objects.filter(partner=partner, status=Migration.Status.COMPLETED)
    if refresh is not None:
        moved = moved.filter(synced_at__gt=refresh.refreshed_at)
    days |= {
        local_day(m, zone) for m in moved.exclude(finished_at=None).values_list("finished_at", flat=True)
    }
    return days, span["newest"]


def usage_refresh(*, partner: Partner, now: datetime | None = None) -> int:
    """Bring the partner's rollups up to date; returns how many days were recomputed."""
    now = now or timezone.now()
    days, newest = days_to_refresh(partner=partner, now=now)
    if days:
        usage_days_compute(partner=partner, days=sorted(days), now=now)
    previous = UsageRefresh.objects.filter(partner=partner).values_list("recorded_until", flat=True).first()
    UsageRefresh.objects.update_or_create(
        partner=partner,
        defaults={"refreshed_at": now, "recorded_until": newest or previous or now},
    )
    return len(days)
