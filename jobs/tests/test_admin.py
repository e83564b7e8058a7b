"""Jobs in the Django admin: read-mostly, filtered by partner (superusers) and kind and status, items
searchable, a staff member of one partner never sees another's, and cancelling one is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from audit.models import AuditEntry
from jobs import services
from jobs.models import Job, JobItem
from tests.factories import make_vm
from vms.models import VM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "queue_advance", lambda pk, countdown=0: None)
    monkeypatch.setattr("jobs.publishing.job_changed_soon", lambda job: None)


def _job(partner: Any, user: Any, kind: str = "stop", vms: int = 3, first: int = 1) -> Job:
    for n in range(first, first + vms):
        make_vm(partner, n, status="running")
    return services.job_create(
        partner=partner,
        user=user,
        kind=kind,
        vms=VM.objects.filter(partner=partner).order_by("vm_id"),
        filters={"status": "running"},
        selection="filter",
    )


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root() -> Any:
    from accounts.models import User

    return User.objects.create_superuser("root", "root@portal.example", "pw-unused-here")


@pytest.fixture
def staff(partner: Any) -> Any:
    from accounts.models import User

    person = User.objects.create_user("staff@acme.example", partner=partner, role="admin", is_staff=True)
    person.user_permissions.add(*Permission.objects.filter(content_type__app_label="jobs"))
    return person


def test_the_job_list_filters_by_partner_kind_and_status_and_shows_the_counts(
    root, partner, operator, other_partner, outsider
):
    mine = _job(partner, operator)
    theirs = _job(other_partner, outsider, kind="start", first=50)

    page = _signed_in(root).get("/admin/jobs/job/")
    assert page.status_code == 200
    body = page.content.decode()
    assert mine.job_id in body and theirs.job_id in body
    assert "0 done, 0 failed, of 3" in body
    for parameter in ("partner__id__exact", "kind__exact", "status__exact"):
        assert parameter in body  # the filters on the side
    by_kind = _signed_in(root).get("/admin/jobs/job/?kind__exact=start").content.decode()
    assert theirs.job_id in by_kind and mine.job_id not in by_kind


def test_a_job_is_read_only_and_links_to_its_items(root, partner, operator):
    job = _job(partner, operator)
    client = _signed_in(root)

    page = client.get(f"/admin/jobs/job/{job.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/jobs/jobitem/?job__id__exact={job.pk}" in page.content.decode()
    assert client.get("/admin/jobs/job/add/").status_code == 403
    assert client.post(f"/admin/jobs/job/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()

    items = client.get(f"/admin/jobs/jobitem/?job__id__exact={job.pk}").content.decode()
    assert all(vm_id in items for vm_id in ("vm-00001", "vm-00002", "vm-00003"))
    found = client.get("/admin/jobs/jobitem/?q=vm-00002").content.decode()
    assert "vm-00002" in found and "vm-00001" not in found


def test_staff_of_one_partner_never_see_another_partners_jobs(
    staff, partner, operator, other_partner, outsider
):
    mine = _job(partner, operator)
    theirs = _job(other_partner, outsider, first=50)
    client = _signed_in(staff)

    body = client.get("/admin/jobs/job/").content.decode()
    assert mine.job_id in body and theirs.job_id not in body
    assert "partner__id__exact" not in body  # no list of every partner's names
    assert client.get(f"/admin/jobs/job/{theirs.pk}/change/").status_code == 404
    their_item = JobItem.objects.filter(job=theirs).first()
    assert their_item is not None
    assert client.get(f"/admin/jobs/jobitem/{their_item.pk}/change/").status_code == 404
    assert "vm-00050" not in client.get("/admin/jobs/jobitem/").content.decode()


def test_cancelling_a_job_in_the_admin_skips_its_pending_items_and_is_audited(staff, partner, operator):
    job = _job(partner, operator)

    response = _signed_in(staff).post(
        "/admin/jobs/job/", {"action": "cancel", "_selected_action": [job.pk], "index": 0}
    )

    assert response.status_code == 302
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED
    assert set(JobItem.objects.filter(job=job).values_list("skip_code", flat=True)) == {"cancelled"}
    [row] = AuditEntry.objects.filter(action="admin.action")
    assert (row.object_type, row.object_id, row.partner, row.actor) == (
        "jobs.job",
        str(job.pk),
        partner,
        staff,
    )
