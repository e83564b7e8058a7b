"""Jobs in maintenance windows, on a fake clock: a scheduled job waits for its start and the tick
starts it; inside a window, items that would not finish by its end are skipped or wait for the next
weekly occurrence, as chosen; a scheduled job can be cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs import services, windows
from jobs.models import Job, JobItem
from tests.factories import make_cluster, make_vm
from vms.models import VM

pytestmark = pytest.mark.django_db(transaction=True)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def _fleet(partner: Any, count: int = 3) -> None:
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_cluster(partner, "cl-aws-use1-b", "aws", "us-east-1")
    for n in range(1, count + 1):
        make_vm(partner, n, status="running")


def _create(partner: Any, user: Any, kind: str, schedule: windows.Schedule, **options: Any) -> Job:
    return services.job_create(
        partner=partner,
        user=user,
        kind=kind,
        vms=VM.objects.filter(partner=partner).order_by("vm_id"),
        filters={},
        selection="filter",
        schedule=schedule,
        **options,
    )


def _statuses(job: Job) -> dict[str, tuple[str, str]]:
    return {
        vm_id: (status, reason)
        for vm_id, status, reason in JobItem.objects.filter(job=job).values_list(
            "vm_id", "status", "skip_reason"
        )
    }


def test_a_scheduled_job_does_not_start_early_and_starts_on_the_tick(partner, operator, runner, fake_client):
    _fleet(partner)
    starts_at = timezone.now() + timedelta(hours=2)
    job = _create(partner, operator, "stop", windows.Schedule(time_zone="Europe/Berlin", starts_at=starts_at))

    assert job.status == Job.Status.SCHEDULED and runner.queue == []  # nothing queued at creation
    assert services.job_advance(job.pk) == []  # a stray advance claims nothing
    services.jobs_tick(now=starts_at - timedelta(seconds=1))
    runner.drain()
    assert Job.objects.get(pk=job.pk).status == Job.Status.SCHEDULED
    assert fake_client.calls == [] and not JobItem.objects.filter(job=job).exclude(status="pending").exists()

    services.jobs_tick(now=starts_at + timedelta(seconds=5))
    runner.drain()

    assert Job.objects.get(pk=job.pk).status == Job.Status.FINISHED
    assert sorted(vm for _, vm, _ in fake_client.calls) == ["vm-00001", "vm-00002", "vm-00003"]


def test_items_that_would_not_finish_by_the_cutoff_are_skipped_with_the_local_time(
    partner, operator, runner, fake_client
):
    _fleet(partner)
    now = timezone.now()
    finish_by = now + timedelta(minutes=30)
    job = _create(
        partner,
        operator,
        "migrate",
        windows.Schedule(time_zone="Asia/Kolkata", finish_by=finish_by, on_late="skip"),
        parameters={"target_cluster": "cl-aws-use1-b"},
        estimates={"vm-00001": 600, "vm-00002": 3600, "vm-00003": 1700},
    )

    claimed = services.job_advance(job.pk, now=now)

    local = finish_by.astimezone(windows.ZoneInfo("Asia/Kolkata")).strftime("%H:%M")
    statuses = _statuses(job)
    assert len(claimed) == 2
    assert statuses["vm-00002"] == ("skipped", f"window: would not finish by {local}")
    assert {statuses["vm-00001"][0], statuses["vm-00003"][0]} == {"running"}

    # Later in the window the 1,700 s one would no longer fit either: it is judged when its turn comes.
    JobItem.objects.filter(job=job, vm_id="vm-00003").update(status="pending", started_at=None)
    services.job_advance(job.pk, now=now + timedelta(minutes=5))
    assert _statuses(job)["vm-00003"][0] == "skipped"


def test_late_items_wait_for_the_next_weekly_occurrence_across_the_dst_change(partner, operator, runner):
    _fleet(partner)
    tuesdays = windows.Weekly(time_zone="Europe/Berlin", weekdays=(1,), start=time(22, 0), hours=1)
    job = _create(
        partner,
        operator,
        "migrate",
        windows.Schedule(time_zone="Europe/Berlin", weekly=tuesdays, on_late="wait"),
        parameters={"target_cluster": "cl-aws-use1-b"},
        estimates={"vm-00001": 600, "vm-00002": 3300, "vm-00003": 7200},
    )
    # On the fake clock: the window of Tuesday 23 March 2027 (22:00 CET, 21:00 UTC) is open.
    opened, closes = tuesdays.occurrence(utc(2027, 3, 23, 21, 10))
    Job.objects.filter(pk=job.pk).update(status="running", starts_at=opened, finish_by=closes)

    services.job_advance(job.pk, now=utc(2027, 3, 23, 21, 10))

    statuses = _statuses(job)
    assert statuses["vm-00001"][0] == "running"  # 10 min, ends 22:20
    assert statuses["vm-00002"] == ("pending", "")  # 55 min would end 23:05: it waits
    assert statuses["vm-00003"] == ("skipped", "window: would not finish by 23:00")  # longer than any window

    JobItem.objects.filter(job=job, vm_id="vm-00001").update(status="done")
    services.job_advance(job.pk, now=utc(2027, 3, 23, 21, 30))

    job.refresh_from_db()
    assert job.status == Job.Status.SCHEDULED
    assert (job.starts_at, job.finish_by) == (utc(2027, 3, 30, 20), utc(2027, 3, 30, 21))  # 22:00 CEST
    assert services.job_start_scheduled(job.pk, now=utc(2027, 3, 30, 19, 59)) is False

    runner.queue.clear()
    services.jobs_tick(now=utc(2027, 3, 30, 20, 0, 10))
    runner.queue.clear()
    services.job_advance(job.pk, now=utc(2027, 3, 30, 20, 0, 10))

    assert _statuses(job)["vm-00002"][0] == "running"


def test_a_scheduled_window_missed_entirely_waits_for_the_next_occurrence(partner, operator, runner):
    _fleet(partner, count=1)
    mondays = windows.Weekly(time_zone="UTC", weekdays=(0,), start=time(1, 0), hours=2)
    job = _create(
        partner, operator, "stop", windows.Schedule(time_zone="UTC", weekly=mondays, on_late="wait")
    )
    Job.objects.filter(pk=job.pk).update(
        status="scheduled", starts_at=utc(2027, 1, 4, 1), finish_by=utc(2027, 1, 4, 3)
    )

    services.jobs_tick(now=utc(2027, 1, 4, 5))  # the beat was down for the whole window

    job.refresh_from_db()
    assert job.status == Job.Status.SCHEDULED and job.starts_at == utc(2027, 1, 11, 1)


def test_a_scheduled_job_can_be_cancelled_and_never_starts(partner, operator, runner, fake_client):
    _fleet(partner)
    starts_at = timezone.now() + timedelta(hours=1)
    job = _create(partner, operator, "stop", windows.Schedule(starts_at=starts_at))

    assert services.job_cancel(job=job) == 3
    services.jobs_tick(now=starts_at + timedelta(minutes=1))
    runner.drain()

    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED and fake_client.calls == []
