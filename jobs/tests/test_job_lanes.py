"""A worker goes on with a job's next item itself; a started migration holds a migration slot, not a
request in flight; a slot frees however the cache learns the migration ended (webhook, sync or tick)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from novacron.models import MigrationStatus

from jobs import services
from jobs.budget import JobsPacer
from jobs.models import Job, JobItem
from partners.models import Quota
from tests.factories import make_cluster, make_migration, make_vm
from tests.fakes import T0, migration_payload
from vms.cache import store_migrations
from vms.migration_selectors import migration_concurrency_quota
from vms.models import VM

pytestmark = pytest.mark.django_db(transaction=True)


def _fleet(partner: Any, running: int = 6) -> None:
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_cluster(partner, "cl-aws-use1-b", "aws", "us-east-1")
    for n in range(1, running + 1):
        make_vm(partner, n, status="running")


def _create(partner: Any, user: Any, kind: str, **parameters: Any) -> Job:
    return services.job_create(
        partner=partner,
        user=user,
        kind=kind,
        vms=VM.objects.filter(partner=partner).order_by("vm_id"),
        filters={},
        selection="filter",
        parameters=parameters,
    )


def _free_pacer(partner: Any) -> JobsPacer:
    return JobsPacer(partner=partner, share=1.0, limit_per_minute=10**9, sleep=lambda s: None)


def test_a_worker_runs_the_jobs_next_items_itself_within_the_concurrency(
    partner, operator, runner, fake_client, settings
):
    settings.JOBS_CONCURRENCY = 1
    _fleet(partner)
    job = _create(partner, operator, "stop")
    [first] = services.job_advance(job.pk)
    runner.queue.clear()

    services.item_run(first, client=fake_client, pacer=_free_pacer(partner), lane=50)

    assert set(JobItem.objects.filter(job=job).values_list("status", flat=True)) == {"done"}
    assert Job.objects.get(pk=job.pk).status == Job.Status.FINISHED
    assert [task for task, _, _ in runner.queue] == []  # no broker trip between the items
    assert [call[1] for call in fake_client.calls] == [f"vm-{n:05d}" for n in range(1, 7)]


def test_a_lane_hands_on_to_a_fresh_advance_after_its_length(
    partner, operator, runner, fake_client, settings
):
    settings.JOBS_CONCURRENCY = 1
    _fleet(partner)
    job = _create(partner, operator, "stop")
    [first] = services.job_advance(job.pk)
    runner.queue.clear()

    services.item_run(first, client=fake_client, pacer=_free_pacer(partner), lane=2)

    assert JobItem.objects.filter(job=job, status="done").count() == 2
    assert runner.queue == [("advance", job.pk, 0)]
    runner.drain()
    assert Job.objects.get(pk=job.pk).status == Job.Status.FINISHED


def test_started_migrations_hold_their_slots_not_the_requests_in_flight(
    partner, operator, runner, fake_client, settings
):
    settings.JOBS_CONCURRENCY = 2
    _fleet(partner)
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=5, used=0, remaining=5, synced_at=T0
    )
    job = _create(partner, operator, "migrate", target_cluster="cl-aws-use1-b")
    runner.queue.append(("advance", job.pk, 0))
    runner.drain()

    migrating = JobItem.objects.filter(job=job, status="running").exclude(migration_id="")
    assert migrating.count() == 5  # migration_concurrent, though only 2 requests go at once
    assert JobItem.objects.filter(job=job, status="pending").count() == 1


def test_a_finish_the_sync_sees_first_settles_the_item_and_frees_its_slot(partner, operator, runner):
    _fleet(partner, running=2)
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=1, used=0, remaining=1, synced_at=T0
    )
    job = _create(partner, operator, "migrate", target_cluster="cl-aws-use1-b")
    runner.queue.append(("advance", job.pk, 0))
    runner.drain()
    [first] = JobItem.objects.filter(job=job, status="running")

    # The sync's page of migrations has the end before any webhook does.
    finished = migration_payload(
        first.migration_id,
        source_vm_id=first.vm_id,
        status="completed",
        progress_percentage=100,
        finished_at=(T0 + timedelta(minutes=5)).isoformat(),
        updated_at="2027-01-01T00:00:00Z",
    )
    store_migrations(partner=partner, migrations=[MigrationStatus.from_dict(finished)])
    runner.drain()

    assert JobItem.objects.get(pk=first.pk).status == "done"
    assert JobItem.objects.filter(job=job, status="running").exclude(migration_id="").count() == 1


def test_the_tick_settles_an_item_whose_migration_the_cache_holds_as_finished(partner, operator, runner):
    _fleet(partner, running=1)
    job = _create(partner, operator, "migrate", target_cluster="cl-aws-use1-b")
    item = JobItem.objects.get(job=job)
    JobItem.objects.filter(pk=item.pk).update(status="running", migration_id="mig-lost", started_at=T0)
    make_migration(partner, "mig-lost", item.vm_id, status="completed", finished_at=T0)

    services.jobs_tick(now=T0 + timedelta(seconds=30))
    runner.drain()

    assert JobItem.objects.get(pk=item.pk).status == "done"
    assert Job.objects.get(pk=job.pk).status == Job.Status.FINISHED


def test_a_slot_counted_by_the_last_quota_sync_is_free_once_its_migration_finished(partner):
    synced_at = T0 + timedelta(minutes=1)
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=3, used=3, remaining=0, synced_at=synced_at
    )
    for n in range(3):
        make_migration(partner, f"mig-{n}", f"vm-{n:05d}", created_at=T0)
    assert migration_concurrency_quota(partner=partner).used == 3

    # Two end after the sync; one of those was started after it (NovaCron's count never held it).
    from vms.models import Migration

    Migration.objects.filter(migration_id="mig-0").update(
        status="completed", finished_at=synced_at + timedelta(seconds=5)
    )
    assert migration_concurrency_quota(partner=partner).used == 2
    make_migration(
        partner,
        "mig-late",
        "vm-00009",
        created_at=synced_at + timedelta(seconds=1),
        status="completed",
        finished_at=synced_at + timedelta(seconds=9),
    )
    assert migration_concurrency_quota(partner=partner).used == 2
