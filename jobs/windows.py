"""Maintenance windows: when a job may run, in the zone of the person who scheduled it.

A job may wait for a start time, with an optional "must finish by", or run in a weekly window
("every week on Tue, Thu from 22:00 for 4 hours"). Times are entered and shown in the person's zone
and stored in UTC; a weekly window is kept as its wall-clock rule and each occurrence is computed in
that zone, so it stays at 22:00 local across a daylight-saving change (its UTC instant moves).

Inside a window an item starts only when the planner's estimate says it finishes by the window's
end; the others wait for the next occurrence or are skipped ("window: would not finish by 02:00"),
as the person chose.

Plain functions of plain values (no database): the unit tests drive them with fixed instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# What a start, stop or delete item takes: one request and NovaCron's answer, well inside a minute.
ACTION_ITEM_SECONDS = 30.0
MAX_WINDOW_HOURS = 24
ON_LATE_CHOICES = [
    ("skip", "Skip it"),
    ("wait", "Wait for the next window"),
]


class NonexistentLocalTime(ValueError):
    """A wall-clock time the zone skips (the clocks jump forward over it)."""


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive wall-clock `local` names in `zone`.

    A time the clocks skip is refused; a time they show twice (the clocks go back) is the first of
    the two, the one a person reading the clock before the change means."""
    aware = local.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(fold=0):
        raise NonexistentLocalTime(local)
    return aware.astimezone(UTC)


def _opening(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Where a weekly window opens on `day`: at `clock` local, or, on the night the clocks skip
    `clock`, as far past the jump as `clock` was into it (02:30 in a 02:00→03:00 gap opens at 03:30),
    so its length in hours is kept."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Weekly:
    """Every week on `weekdays` (0 is Monday) from `start` for `hours`, on the clocks of `time_zone`."""

    time_zone: str
    weekdays: tuple[int, ...]
    start: time
    hours: int

    @property
    def length(self) -> timedelta:
        return timedelta(hours=self.hours)

    def occurrence(self, moment: datetime) -> tuple[datetime, datetime]:
        """The occurrence open at `moment`, else the next to open: its (start, end) in UTC."""
        zone = ZoneInfo(self.time_zone)
        today = moment.astimezone(zone).date()
        # One started yesterday may still be open (windows are at most a day long).
        for offset in range(-1, 8):
            day = today + timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            start = _opening(day, self.start, zone)
            if start + self.length > moment:
                return start, start + self.length
        raise ValueError("a weekly window needs at least one weekday")

    def following(self, end: datetime) -> tuple[datetime, datetime]:
        """The occurrence after the one that ends at `end`."""
        return self.occurrence(end)

    @property
    def text(self) -> str:
        days = ", ".join(WEEKDAYS[day] for day in sorted(self.weekdays))
        hours = "1 hour" if self.hours == 1 else f"{self.hours} hours"
        return f"every week on {days} from {self.start:%H:%M} for {hours} ({self.time_zone})"

    def as_json(self) -> dict[str, Any]:
        return {
            "weekdays": sorted(self.weekdays),
            "start": f"{self.start:%H:%M}",
            "hours": self.hours,
            "time_zone": self.time_zone,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Weekly:
        hour, minute = (int(part) for part in value["start"].split(":"))
        return cls(
            time_zone=value["time_zone"],
            weekdays=tuple(int(day) for day in value["weekdays"]),
            start=time(hour, minute),
            hours=int(value["hours"]),
        )


@dataclass(frozen=True)
class Schedule:
    """When a job runs: from `starts_at` (None: now) until `finish_by` (None: no end), or in the
    occurrences of `weekly`; `on_late`: what an item that would not finish in time does."""

    time_zone: str = "UTC"
    starts_at: datetime | None = None
    finish_by: datetime | None = None
    weekly: Weekly | None = None
    on_late: str = "skip"

    @property
    def is_immediate(self) -> bool:
        return self.starts_at is None and self.finish_by is None and self.weekly is None

    def first_window(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The first window's (start, end): the weekly occurrence open now or next, else as entered."""
        if self.weekly is not None:
            return self.weekly.occurrence(now)
        return self.starts_at, self.finish_by

    def as_json(self) -> dict[str, Any]:
        """What the job keeps (Job.window): the rule, not the instants (those are Job's columns)."""
        if self.is_immediate:
            return {}
        value: dict[str, Any] = {"time_zone": self.time_zone, "on_late": self.on_late}
        if self.weekly is not None:
            value["weekly"] = self.weekly.as_json()
        return value


def weekly_of(window: dict[str, Any]) -> Weekly | None:
    """The weekly rule a job keeps in `Job.window`, if any."""
    return Weekly.from_json(window["weekly"]) if window.get("weekly") else None


def waits(window: dict[str, Any]) -> bool:
    """Whether late items wait for the next occurrence (only a weekly window has one)."""
    return window.get("on_late") == "wait" and bool(window.get("weekly"))


def item_seconds(estimate: float | None) -> float:
    """An item's expected duration: the planner's estimate for a migration, else a fixed allowance."""
    return estimate if estimate is not None else ACTION_ITEM_SECONDS


def finishes_in_time(now: datetime, estimate: float | None, finish_by: datetime | None) -> bool:
    return finish_by is None or now + timedelta(seconds=item_seconds(estimate)) <= finish_by


def late_reason(finish_by: datetime, time_zone: str) -> str:
    """ "window: would not finish by 02:00", the clock in the zone the window was entered in."""
    return f"window: would not finish by {finish_by.astimezone(ZoneInfo(time_zone)):%H:%M}"


@dataclass(frozen=True)
class WindowView:
    """What a job's page says of its window."""

    rule: str  # "every week on Tue from 22:00 for 4 hours (Europe/Berlin)", or "" for a one-off
    on_late: str
    starts_at: datetime | None
    finish_by: datetime | None
    next_start: datetime | None  # the next occurrence, for a weekly window
    next_end: datetime | None


def window_view(
    window: dict[str, Any], *, starts_at: datetime | None, finish_by: datetime | None, status: str
) -> WindowView | None:
    """The job's window as its page shows it (None for a job with none). A scheduled job's next
    occurrence is the one it waits for; a running one's is the one after the open window."""
    if not window:
        return None
    weekly = weekly_of(window)
    next_start = next_end = None
    if weekly is not None and status in ("scheduled", "running"):
        if status == "scheduled" or finish_by is None:
            next_start, next_end = starts_at, finish_by
        else:
            next_start, next_end = weekly.following(finish_by)
    return WindowView(
        rule=weekly.text if weekly else "",
        on_late="waits for the next occurrence" if waits(window) else "is skipped",
        starts_at=starts_at,
        finish_by=finish_by,
        next_start=next_start,
        next_end=next_end,
    )


def format_hours(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"
