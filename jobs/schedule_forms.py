"""The bulk action's schedule: now, at a time (with an optional "must finish by"), or in a weekly
window, entered on the clocks of the person's zone (jobs/windows.py does the arithmetic)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from jobs import windows
from lib.times import instant_text, is_time_zone

WHEN_CHOICES = [
    ("now", "Now"),
    ("at", "At a time"),
    ("weekly", "In a weekly window"),
]
LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
# A start entered as the current minute is "now", not the past.
PAST_GRACE = timedelta(minutes=1)


class ScheduleForm(forms.Form):
    when = forms.ChoiceField(choices=WHEN_CHOICES, required=False, initial="now")
    start_at = forms.CharField(required=False, max_length=32)
    finish_by = forms.CharField(required=False, max_length=32)
    weekdays = forms.MultipleChoiceField(
        choices=[(str(day), name) for day, name in enumerate(windows.WEEKDAYS)], required=False
    )
    window_start = forms.TimeField(required=False, input_formats=["%H:%M", "%H:%M:%S"])
    window_hours = forms.IntegerField(required=False, min_value=1, max_value=windows.MAX_WINDOW_HOURS)
    on_late = forms.ChoiceField(choices=windows.ON_LATE_CHOICES, required=False, initial="skip")
    time_zone = forms.CharField(required=False, max_length=64)

    def __init__(self, data: Any, *, time_zone: str, now: datetime | None = None) -> None:
        super().__init__(data)
        self.default_zone = time_zone
        self.now = now or timezone.now()
        self.schedule = windows.Schedule(time_zone=time_zone)

    @property
    def zone_name(self) -> str:
        value = self.data.get("time_zone", "") if self.is_bound else ""
        return str(value).strip() or self.default_zone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        zone_name = (cleaned.get("time_zone") or "").strip() or self.default_zone
        if not is_time_zone(zone_name):
            self.add_error("time_zone", f"“{zone_name}” is not a time zone: enter one such as Europe/Berlin.")
            return cleaned
        zone = ZoneInfo(zone_name)
        when = cleaned.get("when") or "now"
        starts_at = finish_by = None
        weekly = None
        if when == "at":
            starts_at = self._instant("start_at", zone, required=True)
            if starts_at is not None and starts_at < self.now - PAST_GRACE:
                self.add_error(
                    "start_at",
                    f"{instant_text(starts_at, zone=zone)} has passed: choose a time to come, or start now.",
                )
        if when in ("now", "at"):
            finish_by = self._instant("finish_by", zone)
            begin = starts_at or self.now
            if finish_by is not None and finish_by <= begin:
                self.add_error("finish_by", "“Must finish by” is not after the start: choose a later time.")
        if when == "weekly":
            weekly = self._weekly(cleaned, zone_name)
        on_late = cleaned.get("on_late") or "skip"
        if on_late == "wait" and when != "weekly":
            self.add_error(
                "on_late", "Only a weekly window has a next occurrence to wait for: skip late items instead."
            )
        if not self.errors:
            self.schedule = windows.Schedule(
                time_zone=zone_name, starts_at=starts_at, finish_by=finish_by, weekly=weekly, on_late=on_late
            )
        return cleaned

    def _instant(self, name: str, zone: ZoneInfo, *, required: bool = False) -> datetime | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            if required:
                self.add_error(name, "Enter the date and time to start at.")
            return None
        for layout in LOCAL_FORMATS:
            try:
                local = datetime.strptime(text, layout)
                break
            except ValueError:
                continue
        else:
            self.add_error(name, "Enter a date and time such as 2027-03-28 22:00.")
            return None
        try:
            return windows.to_utc(local, zone)
        except windows.NonexistentLocalTime:
            self.add_error(
                name,
                f"{local:%H:%M} on {local:%d %b %Y} does not exist in {zone.key}: the clocks jump "
                "forward over it that night. Choose another time.",
            )
            return None

    def _weekly(self, cleaned: dict[str, Any], zone_name: str) -> windows.Weekly | None:
        days = cleaned.get("weekdays") or []
        start = cleaned.get("window_start")
        hours = cleaned.get("window_hours")
        if not days:
            self.add_error("weekdays", "Choose the days of the week the window opens on.")
        if start is None and "window_start" not in self.errors:
            self.add_error("window_start", "Enter the time the window opens, such as 22:00.")
        if hours is None and "window_hours" not in self.errors:
            self.add_error("window_hours", "Enter how many hours the window lasts.")
        if not days or start is None or hours is None:
            return None
        return windows.Weekly(
            time_zone=zone_name, weekdays=tuple(sorted(int(day) for day in days)), start=start, hours=hours
        )

    def check_window(self, shortest_seconds: float) -> None:
        """Refuse a window no item could finish in (`shortest_seconds`: the shortest item's estimate)."""
        schedule = self.schedule
        if schedule.weekly is not None:
            length, field = schedule.weekly.length, "window_hours"
        elif schedule.finish_by is not None:
            length, field = schedule.finish_by - (schedule.starts_at or self.now), "finish_by"
        else:
            return
        if length.total_seconds() < shortest_seconds:
            self.add_error(
                field,
                f"The window ({windows.format_hours(length.total_seconds())}) is shorter than the shortest "
                f"item (about {windows.format_hours(shortest_seconds)}): no item could finish in it.",
            )
