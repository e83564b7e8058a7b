"""Scheduling a job from the bulk action form: times entered in the person's zone and shown back in
the viewer's, the schedule's form errors, and the migration options passed through to NovaCron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import Job, JobItem
from jobs.schedule_forms import ScheduleForm
from tests.factories import form_key, make_cluster, make_vm
from vms.models import Cluster

pytestmark = pytest.mark.django_db(transaction=True)

BERLIN = ZoneInfo("Europe/Berlin")
SCOPES = "openid profile email vm:read vm:write migration:execute"


def _fleet(partner: Any) -> None:
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_cluster(partner, "cl-aws-use1-b", "aws", "us-east-1")
    Cluster.objects.filter(partner=partner).update(link_speed_mbps=100)
    for n in (1, 2, 3):
        make_vm(partner, n, status="running")


def _signed_in(person: Any, grant: Any, zone: str = "Europe/Berlin") -> Client:
    person.time_zone = zone
    person.save(update_fields=["time_zone"])
    grant(person, SCOPES)
    client = Client()
    client.force_login(person)
    return client


def _tomorrow_at(hour: int, zone: ZoneInfo = BERLIN) -> datetime:
    day = (timezone.now().astimezone(zone) + timedelta(days=2)).date()
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=zone)


def test_a_job_scheduled_in_berlin_is_stored_in_utc_and_shown_in_each_viewers_zone(
    partner, operator, owner, runner, grant
):
    _fleet(partner)
    client = _signed_in(operator, grant)
    local = _tomorrow_at(22)
    form = {"action": "stop", "selection": "filter", "when": "at", "start_at": f"{local:%Y-%m-%dT%H:%M}"}

    response = client.post(
        "/jobs/new/", {**form, "finish_by": f"{local + timedelta(hours=3):%Y-%m-%dT%H:%M}", **form_key()}
    )

    job = Job.objects.get(partner=partner)
    assert response.status_code == 302 and job.status == Job.Status.SCHEDULED
    assert job.starts_at == local.astimezone(UTC) and job.finish_by == (
        local + timedelta(hours=3)
    ).astimezone(UTC)
    assert runner.queue == []  # nothing runs before its time
    assert JobItem.objects.filter(job=job, status="pending").count() == 3
    berlin_page = client.get(f"/jobs/{job.job_id}/").content.decode()
    kolkata_page = _signed_in(owner, grant, "Asia/Kolkata").get(f"/jobs/{job.job_id}/").content.decode()
    in_kolkata = local.astimezone(ZoneInfo("Asia/Kolkata"))
    assert f"{local:%H:%M} {_offset(local)}" in berlin_page and "Scheduled" in berlin_page
    assert f"{in_kolkata:%H:%M} UTC+05:30" in kolkata_page
    assert "job-cancel" in berlin_page
    assert "Scheduled" in client.get("/jobs/").content.decode()

    assert client.post(f"/jobs/{job.job_id}/cancel/").status_code == 302
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED


def _offset(moment: datetime) -> str:
    hours = int((moment.utcoffset() or timedelta()).total_seconds() // 3600)
    return f"UTC+{hours:02d}:00"


def test_a_weekly_window_job_shows_its_rule_and_next_occurrence(partner, operator, runner, grant):
    _fleet(partner)
    client = _signed_in(operator, grant)
    form = {"action": "stop", "selection": "filter", "when": "weekly", "weekdays": ["1", "3"]}

    client.post(
        "/jobs/new/", {**form, "window_start": "22:00", "window_hours": "4", "on_late": "wait", **form_key()}
    )

    job = Job.objects.get(partner=partner)
    page = client.get(f"/jobs/{job.job_id}/").content.decode()
    assert job.window["weekly"] == {
        "weekdays": [1, 3],
        "start": "22:00",
        "hours": 4,
        "time_zone": "Europe/Berlin",
    }
    assert job.starts_at is not None and job.starts_at.astimezone(BERLIN).strftime("%a %H:%M") in (
        "Tue 22:00",
        "Thu 22:00",
    )
    assert "every week on Tue, Thu from 22:00 for 4 hours (Europe/Berlin)" in page
    assert "next occurrence" in page and "job-next-window" in page


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"when": "at", "start_at": "2020-01-01T10:00"}, "has passed"),
        (
            {"when": "at", "start_at": "2099-01-01T10:00", "finish_by": "2099-01-01T09:00"},
            "is not after the start",
        ),
        ({"when": "at", "start_at": "2099-03-29T02:30"}, "does not exist in Europe/Berlin"),
        ({"when": "at", "start_at": "tomorrow"}, "Enter a date and time"),
        ({"when": "at", "start_at": "2099-01-01T10:00", "time_zone": "Mars/Olympus"}, "is not a time zone"),
        ({"when": "at", "start_at": "2099-01-01T10:00", "on_late": "wait"}, "Only a weekly window"),
        ({"when": "weekly", "window_start": "22:00", "window_hours": "2"}, "Choose the days"),
        (
            {"when": "weekly", "weekdays": ["0"], "window_start": "22:00", "window_hours": "30"},
            "less than or equal to 24",
        ),
    ],
)
def test_the_schedule_refuses_with_a_clear_error(fields, error):
    # 29 March 2099 is the Sunday the clocks skip 02:00 to 03:00 in Berlin.
    form = ScheduleForm(fields, time_zone="Europe/Berlin")

    assert not form.is_valid()
    assert error in " ".join(message for messages in form.errors.values() for message in messages)


def test_a_schedule_in_the_persons_zone_is_read_on_its_clocks():
    form = ScheduleForm(
        {"when": "at", "start_at": "2099-07-01T09:30", "finish_by": "2099-07-01T12:00"},
        time_zone="Europe/Berlin",
    )

    assert form.is_valid(), form.errors
    assert form.schedule.starts_at == datetime(2099, 7, 1, 7, 30, tzinfo=UTC)
    assert form.schedule.finish_by == datetime(2099, 7, 1, 10, 0, tzinfo=UTC)
    assert ScheduleForm({}, time_zone="Asia/Kolkata").is_valid()  # no schedule: now


def test_a_window_shorter_than_the_shortest_migration_is_refused(partner, operator, runner, grant):
    _fleet(partner)
    client = _signed_in(operator, grant)
    form = {
        "action": "migrate",
        "selection": "filter",
        "target_cluster": "cl-aws-use1-b",
        "migration_type": "live",
    }
    weekly = {"when": "weekly", "weekdays": ["5"], "window_start": "01:00", "window_hours": "1"}

    page = client.post("/jobs/new/", {**form, **weekly, **form_key()}).content.decode()

    assert "is shorter than the shortest item" in page and not Job.objects.exists()
    client.post("/jobs/new/", {**form, **weekly, "window_hours": "6", **form_key()})
    job = Job.objects.get(partner=partner)
    assert all(
        seconds and seconds > 3600
        for seconds in JobItem.objects.filter(job=job).values_list("estimated_seconds", flat=True)
    )


def test_the_bulk_migrations_downtime_window_and_verify_reach_novacron(
    partner, operator, runner, fake_client, grant
):
    _fleet(partner)
    client = _signed_in(operator, grant)
    sent: list[dict[str, Any]] = []
    start = fake_client.start_migration

    def record(spec: Any, *, idempotency_key: str | None = None) -> Any:
        sent.append(spec.options)
        return start(spec, idempotency_key=idempotency_key)

    fake_client.start_migration = record  # type: ignore[method-assign]
    form = {
        "action": "migrate",
        "selection": "filter",
        "target_cluster": "cl-aws-use1-b",
        "migration_type": "live",
    }

    preview = client.get("/jobs/new/", form).content.decode()  # from the VM list's bulk bar
    client.post(
        "/jobs/new/", {**form, "migration_options": "1", "downtime_window_minutes": "20", **form_key()}
    )
    runner.drain()

    assert 'id="id_verify_after_migration" checked' in preview  # the default, not "unchecked"
    job = Job.objects.get(partner=partner)
    assert (
        job.parameters["verify_after_migration"] is False and job.parameters["downtime_window_minutes"] == 20
    )
    assert sent and all(
        options == {"verify_after_migration": False, "downtime_window_minutes": 20} for options in sent
    )
    assert "downtime window 20 min, not verified" in client.get(f"/jobs/{job.job_id}/").content.decode()


def test_a_running_weekly_job_shows_when_its_next_occurrence_opens(partner, operator, runner, grant):
    _fleet(partner)
    client = _signed_in(operator, grant)
    form = {
        "action": "stop",
        "selection": "filter",
        "when": "weekly",
        "weekdays": ["1"],
        "window_start": "22:00",
    }
    client.post("/jobs/new/", {**form, "window_hours": "4", **form_key()})
    job = Job.objects.get(partner=partner)
    # Its window of Tuesday 23 March 2027 is open; the next opens after the change to summer time.
    Job.objects.filter(pk=job.pk).update(
        status="running",
        starts_at=datetime(2027, 3, 23, 21, tzinfo=UTC),
        finish_by=datetime(2027, 3, 24, 1, tzinfo=UTC),
    )

    page = client.get(f"/jobs/{job.job_id}/").content.decode()

    assert (
        '<span class="job-next-window"><time datetime="2027-03-30T20:00:00Z">30 Mar 2027, 22:00 UTC+02:00'
        in page
    )


def test_the_planners_way_to_a_job_offers_the_schedule(partner, operator, runner, grant):
    _fleet(partner)
    client = _signed_in(operator, grant)

    plan = client.get(
        "/jobs/plan/", {"selection": "filter", "target_cluster": "cl-aws-use1-b"}
    ).content.decode()
    job_form = client.get(
        "/jobs/new/", {"action": "migrate", "selection": "filter", "target_cluster": "cl-aws-use1-b"}
    )

    assert 'id="plan-to-job"' in plan
    assert (
        'id="job-schedule"' in job_form.content.decode() and 'name="finish_by"' in job_form.content.decode()
    )
