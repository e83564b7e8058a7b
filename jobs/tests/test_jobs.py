"""Jobs against a NovaCron stand-in that counts requests per Idempotency-Key: the snapshot, the skip
reasons, bounded concurrency, migration slots refilled when a migration ends, cancel, retry, resume."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from jobs import services
from jobs.models import Job, JobItem
from partners.models import Quota
from tests.factories import form_key, make_cluster, make_migration, make_vm
from tests.fakes import T0, migration_payload
from vms.cache import store_migration
from vms.models import VM

pytestmark = pytest.mark.django_db(transaction=True)


def _fleet(partner: Any) -> None:
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_cluster(partner, "cl-aws-use1-b", "aws", "us-east-1")
    make_cluster(partner, "cl-gcp-1", "gcp", "us-central1")
    for n in range(1, 7):
        make_vm(partner, n, status="running")
    make_vm(partner, 7, status="stopped")
    make_vm(partner, 8, status="migrating")
    make_vm(partner, 9, status="running", cloud_provider="azure")


def _create(partner: Any, user: Any, kind: str, **parameters: Any) -> Job:
    vms = VM.objects.filter(partner=partner).order_by("vm_id")
    return services.job_create(
        partner=partner, user=user, kind=kind, vms=vms, filters={}, selection="filter", parameters=parameters
    )


def _statuses(job: Job) -> dict[str, str]:
    return dict(JobItem.objects.filter(job=job).values_list("vm_id", "status"))


def test_the_snapshot_is_taken_at_creation_with_each_skip_reason(partner, operator, runner):
    _fleet(partner)
    job = _create(partner, operator, "stop")
    make_vm(partner, 10, status="running")  # matches the filter too, but after the job was created

    items = {item.vm_id: item for item in JobItem.objects.filter(job=job)}
    assert "vm-00010" not in items
    assert items["vm-00007"].skip_code == "already_stopped"
    assert items["vm-00008"].skip_code == "migrating"
    assert [vm for vm, item in items.items() if item.status == "pending"] == [
        f"vm-{n:05d}" for n in (1, 2, 3, 4, 5, 6, 9)
    ]
    assert job.created_by == operator and job.created_by_email == operator.email

    migrate = _create(partner, operator, "migrate", target_cluster="cl-aws-use1-b")
    reasons = dict(JobItem.objects.filter(job=migrate).values_list("vm_id", "skip_code"))
    assert reasons["vm-00009"] == "wrong_cloud"
    assert reasons["vm-00008"] == "migrating"
    assert reasons["vm-00001"] == ""


def test_a_stop_job_runs_every_eligible_item_once_within_the_concurrency(
    partner, operator, runner, fake_client, settings
):
    settings.JOBS_CONCURRENCY = 2
    _fleet(partner)
    job = _create(partner, operator, "stop")
    runner.queue.append(("advance", job.pk, 0))

    services.job_advance(job.pk)
    assert JobItem.objects.filter(job=job, status="running").count() == 2  # never more than the bound
    runner.drain()

    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED
    assert set(_statuses(job).values()) == {"done", "skipped"}
    assert max(fake_client.per_vm().values()) == 1
    assert VM.objects.get(partner=partner, vm_id="vm-00001").status == "stopped"


def test_a_killed_worker_resumes_without_repeating_a_done_item_or_duplicating_one_in_flight(
    partner, operator, runner, fake_client
):
    _fleet(partner)
    job = _create(partner, operator, "stop")
    [first, second] = services.job_advance(job.pk)[:2]
    # The worker sent the first item's request and died before recording NovaCron's answer.
    item = JobItem.objects.get(pk=first)
    fake_client.stop_vm(item.vm_id, idempotency_key=item.request_key)
    # The second was done before the crash.
    runner.queue.clear()
    services.item_run(second, client=fake_client, pacer=_free_pacer(partner))

    # The task of the first comes back (late acks), the beat's tick re-sends whatever was lost.
    runner.queue.append(("item", first, 0))
    services.jobs_tick(now=T0.replace(year=2100))
    runner.drain()

    assert max(fake_client.per_vm().values()) == 1  # one distinct request per VM at NovaCron
    assert [call for call in fake_client.calls if call[1] == JobItem.objects.get(pk=second).vm_id] == [
        ("stop", JobItem.objects.get(pk=second).vm_id, JobItem.objects.get(pk=second).request_key)
    ]
    assert Job.objects.get(pk=job.pk).status == Job.Status.FINISHED


def _free_pacer(partner: Any) -> Any:
    from jobs.budget import JobsPacer

    return JobsPacer(partner=partner, share=1.0, limit_per_minute=10**9, sleep=lambda s: None)


def test_migrations_wait_for_free_slots_and_the_next_starts_when_one_finishes(
    partner, operator, runner, fake_client
):
    _fleet(partner)
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=3, used=0, remaining=3, synced_at=T0
    )
    make_migration(partner, "mig-other", "vm-00008")  # someone's migration holds one of the three slots
    job = _create(partner, operator, "migrate", target_cluster="cl-aws-use1-b")
    runner.queue.append(("advance", job.pk, 0))
    runner.drain()

    running = JobItem.objects.filter(job=job, status="running")
    assert running.count() == 2 and all(item.migration_id for item in running)
    assert JobItem.objects.filter(job=job, status="pending").count() == 5

    # migration.completed arrives (webhooks → vms.cache): its slot goes to the next item at once.
    done = running.first()
    store_migration(
        partner=partner,
        migration=migration_payload(
            done.migration_id,
            source_vm_id=done.vm_id,
            status="completed",
            progress_percentage=100,
            updated_at="2027-01-01T00:00:00Z",
        ),
        from_event=True,
    )
    runner.drain()

    assert JobItem.objects.get(pk=done.pk).status == "done"
    assert JobItem.objects.filter(job=job, status="running").count() == 2
    assert JobItem.objects.filter(job=job, status="pending").count() == 4


def test_a_quota_refusal_of_a_migration_puts_the_item_back_under_a_new_key(partner, operator, runner):
    _fleet(partner)
    runner.client.migration_limit = 0  # NovaCron knows of migrations the cache does not
    job = _create(partner, operator, "migrate", target_cluster="cl-aws-use1-b")
    services.job_advance(job.pk)
    item = JobItem.objects.filter(job=job, status="running").first()

    assert (
        services.item_run(item.pk, client=runner.client, pacer=_free_pacer(partner)) == "waiting for a slot"
    )
    again = JobItem.objects.get(pk=item.pk)
    assert again.status == "pending" and again.attempt == 2 and again.request_key != item.request_key


def test_cancel_skips_the_pending_items_and_retry_runs_the_failed_ones_again(
    partner, operator, runner, fake_client, settings
):
    settings.JOBS_CONCURRENCY = 2
    _fleet(partner)
    job = _create(partner, operator, "stop")
    services.job_advance(job.pk)
    runner.queue.clear()

    skipped = services.job_cancel(job=job)

    assert skipped == JobItem.objects.filter(job=job, skip_code="cancelled").count() == 5
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED
    assert not JobItem.objects.filter(job=job, status="pending").exists()

    JobItem.objects.filter(job=job, status="running").update(status="failed", error_code="internal_error")
    assert services.job_retry(job=job) == 2
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    runner.drain()
    assert Job.objects.get(pk=job.pk).status == Job.Status.FINISHED
    assert not JobItem.objects.filter(job=job, status="failed").exists()


# --- pages: authorization, typed confirmation, tenancy ----------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("operator", True), ("admin", True)])
def test_only_the_roles_of_the_single_vm_actions_create_a_job(partner, runner, grant, role, allowed, request):
    _fleet(partner)
    person = request.getfixturevalue({"admin": "owner"}.get(role, role))
    grant(person, "openid profile email vm:read vm:write migration:execute")
    client = Client()
    client.force_login(person)

    response = client.post(
        "/jobs/new/", {"action": "stop", "selection": "filter", "status": "running", **form_key()}
    )

    assert Job.objects.filter(partner=partner).exists() == allowed
    assert response.status_code == (302 if allowed else 403)


def test_without_the_scope_the_job_is_refused_with_a_grant_link(partner, operator, runner, grant):
    _fleet(partner)
    grant(operator, "openid profile email vm:read")
    client = Client()
    client.force_login(operator)

    response = client.post("/jobs/new/", {"action": "stop", "selection": "filter"})

    assert response.status_code == 200 and not Job.objects.exists()
    assert b"needs your permission" in response.content


def test_a_bulk_delete_needs_the_count_typed(partner, operator, runner, grant):
    _fleet(partner)
    grant(operator, "openid profile email vm:read vm:write")
    client = Client()
    client.force_login(operator)
    form = {"action": "delete", "selection": "filter", "status": "running", **form_key()}

    wrong = client.post("/jobs/new/", {**form, "confirm": "3"})
    right = client.post("/jobs/new/", {**form, "confirm": "7"})  # six running on aws, one on azure

    assert wrong.status_code == 200 and b"Type 7 to delete 7 VMs" in wrong.content
    assert right.status_code == 302
    assert JobItem.objects.filter(job__partner=partner, status="pending").count() == 7


def test_the_preview_counts_eligible_and_skipped_with_reasons_and_the_cost(partner, operator, runner, grant):
    _fleet(partner)
    grant(operator, "openid profile email vm:read vm:write")
    client = Client()
    client.force_login(operator)

    page = client.get("/jobs/new/", {"action": "stop", "selection": "filter"}).content.decode()

    assert '<strong class="job-eligible">7</strong> of 9' in page
    assert 'data-code="already_stopped"' in page and 'data-code="migrating"' in page
    assert "7 API calls" in page
    assert not Job.objects.exists()  # a preview creates nothing


def test_another_partners_job_is_a_404(partner, other_partner, operator, outsider, runner, grant):
    _fleet(partner)
    job = _create(partner, operator, "stop")
    grant(outsider, "openid profile email vm:read vm:write")
    client = Client()
    client.force_login(outsider)

    assert client.get(f"/jobs/{job.job_id}/").status_code == 404
    assert client.post(f"/jobs/{job.job_id}/cancel/").status_code == 404
    assert job.job_id.encode() not in client.get("/jobs/").content
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


def test_preview_again_is_a_post_that_creates_nothing(partner, operator, runner, grant):
    _fleet(partner)
    grant(operator, "openid profile email vm:read vm:write")
    client = Client()
    client.force_login(operator)

    page = client.post("/jobs/new/", {"action": "stop", "selection": "filter", "preview": "1"})

    assert page.status_code == 200 and b'<strong class="job-eligible">7</strong>' in page.content
    assert b'formmethod="get"' not in page.content  # the CSRF token never travels in a URL
    assert not Job.objects.exists()


def test_a_double_click_on_start_the_job_makes_one_job(partner, operator, runner, grant):
    _fleet(partner)
    grant(operator, "openid profile email vm:read vm:write")
    client = Client()
    client.force_login(operator)
    form = {"action": "stop", "selection": "filter", "status": "running", **form_key()}

    first = client.post("/jobs/new/", form)
    second = client.post("/jobs/new/", form)
    stale = client.post("/jobs/new/", {**form, "idempotency_key": ""})

    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Job.objects.filter(partner=partner).count() == 1
    assert stale.status_code == 200 and b"out of date" in stale.content
