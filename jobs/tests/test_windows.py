"""Window arithmetic on fixed instants: weekly occurrences on the wall clock of Europe/Berlin across
both daylight-saving changes of 2027, wall-clock times the clocks skip or show twice, and the
"must finish by" cutoff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs import windows

BERLIN = ZoneInfo("Europe/Berlin")
# 2027: the clocks go 02:00 → 03:00 on Sunday 28 March, and 03:00 → 02:00 on Sunday 31 October.


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_weekly_window_keeps_its_wall_clock_time_across_the_spring_change():
    tuesdays = windows.Weekly(time_zone="Europe/Berlin", weekdays=(1,), start=time(22, 0), hours=4)

    before = tuesdays.occurrence(utc(2027, 3, 22, 12))  # Monday before the change
    after = tuesdays.following(before[1])

    assert before == (utc(2027, 3, 23, 21), utc(2027, 3, 24, 1))  # 22:00 CET is 21:00 UTC
    assert after == (utc(2027, 3, 30, 20), utc(2027, 3, 31, 0))  # 22:00 CEST is 20:00 UTC
    assert [start.astimezone(BERLIN).strftime("%a %H:%M") for start, _ in (before, after)] == [
        "Tue 22:00",
        "Tue 22:00",
    ]


def test_a_window_on_the_night_of_a_change_lasts_its_hours_of_real_time():
    sundays = windows.Weekly(time_zone="Europe/Berlin", weekdays=(6,), start=time(1, 0), hours=4)

    spring = sundays.occurrence(utc(2027, 3, 27, 12))
    autumn = sundays.occurrence(utc(2027, 10, 30, 12))

    assert spring == (utc(2027, 3, 28, 0), utc(2027, 3, 28, 4))  # 01:00 CET to 06:00 CEST
    assert spring[1].astimezone(BERLIN).strftime("%H:%M") == "06:00"
    assert autumn == (utc(2027, 10, 30, 23), utc(2027, 10, 31, 3))  # 01:00 CEST to 04:00 CET
    assert autumn[1].astimezone(BERLIN).strftime("%H:%M") == "04:00"


def test_a_window_opening_in_the_skipped_hour_opens_as_far_past_the_jump():
    sundays = windows.Weekly(time_zone="Europe/Berlin", weekdays=(6,), start=time(2, 30), hours=2)

    start, end = sundays.occurrence(utc(2027, 3, 27, 12))

    assert start.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    assert end - start == timedelta(hours=2)


def test_the_occurrence_open_now_is_returned_until_its_end_then_the_next():
    nights = windows.Weekly(time_zone="Europe/Berlin", weekdays=(4, 5), start=time(22, 0), hours=6)

    # Saturday 02:00 in Berlin is inside Friday's window, which crossed midnight.
    friday = nights.occurrence(utc(2027, 6, 5, 0))
    at_its_end = nights.occurrence(friday[1])

    assert friday == (utc(2027, 6, 4, 20), utc(2027, 6, 5, 2))
    assert at_its_end == (utc(2027, 6, 5, 20), utc(2027, 6, 6, 2))  # Saturday's


def test_a_skipped_wall_clock_time_is_refused_and_a_doubled_one_is_the_first():
    with pytest.raises(windows.NonexistentLocalTime):
        windows.to_utc(datetime(2027, 3, 28, 2, 30), BERLIN)

    assert windows.to_utc(datetime(2027, 10, 31, 2, 30), BERLIN) == utc(2027, 10, 31, 0, 30)  # CEST
    assert windows.to_utc(datetime(2027, 7, 1, 9, 0), BERLIN) == utc(2027, 7, 1, 7, 0)


def test_an_item_fits_only_when_its_estimate_ends_by_the_cutoff():
    finish_by = utc(2027, 3, 24, 1)  # 02:00 in Berlin
    now = finish_by - timedelta(minutes=30)

    assert windows.finishes_in_time(now, 1800, finish_by)  # ends exactly at the cutoff
    assert not windows.finishes_in_time(now, 1801, finish_by)
    assert windows.finishes_in_time(now, None, finish_by)  # a start or stop: a fixed 30 s
    assert not windows.finishes_in_time(finish_by - timedelta(seconds=10), None, finish_by)
    assert windows.finishes_in_time(now, 10**9, None)  # no cutoff
    assert windows.late_reason(finish_by, "Europe/Berlin") == "window: would not finish by 02:00"


def test_only_a_weekly_window_lets_late_items_wait():
    weekly = windows.Weekly(time_zone="UTC", weekdays=(0,), start=time(1, 0), hours=2)

    assert windows.waits(windows.Schedule(weekly=weekly, on_late="wait").as_json())
    assert not windows.waits(windows.Schedule(finish_by=utc(2027, 1, 1), on_late="wait").as_json())
    assert not windows.waits(windows.Schedule(weekly=weekly, on_late="skip").as_json())
    assert windows.Schedule().as_json() == {}
    assert windows.weekly_of(windows.Schedule(weekly=weekly).as_json()) == weekly
    assert weekly.text == "every week on Mon from 01:00 for 2 hours (UTC)"


def test_the_page_shows_a_scheduled_jobs_window_and_a_running_ones_next_occurrence():
    tuesdays = windows.Weekly(time_zone="Europe/Berlin", weekdays=(1,), start=time(22, 0), hours=4)
    rule = windows.Schedule(time_zone="Europe/Berlin", weekly=tuesdays, on_late="wait").as_json()
    start, end = utc(2027, 3, 23, 21), utc(2027, 3, 24, 1)

    waiting = windows.window_view(rule, starts_at=start, finish_by=end, status="scheduled")
    running = windows.window_view(rule, starts_at=start, finish_by=end, status="running")

    assert waiting is not None and (waiting.next_start, waiting.next_end) == (start, end)
    assert running is not None and running.next_start == utc(2027, 3, 30, 20)  # after the change
    assert running.on_late == "waits for the next occurrence"
    assert windows.window_view({}, starts_at=None, finish_by=None, status="running") is None
