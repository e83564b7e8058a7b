"""VMs picked one by one are capped at MAX_PICKED: past it the preview says so and no job starts,
instead of acting on the first 500 in silence; the list's bulk bar says ticks are of the page shown."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.forms import MAX_PICKED
from jobs.models import Job
from tests.factories import form_key, make_vm

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(operator, grant) -> Client:
    grant(operator, "openid profile email vm:read vm:write migration:execute")
    client = Client()
    client.force_login(operator)
    return client


def test_more_vms_picked_than_the_cap_are_refused_with_the_reason(partner, signed_in):
    make_vm(partner, 1, status="running")
    too_many = [f"vm-{n:05d}" for n in range(1, MAX_PICKED + 2)]

    preview = signed_in.get("/jobs/new/", {"action": "stop", "selection": "picked", "vm": too_many})
    assert preview.status_code == 200
    assert (
        f"At most {MAX_PICKED} VMs can be picked one by one ({MAX_PICKED + 1} were)"
        in preview.content.decode()
    )

    signed_in.post("/jobs/new/", {"action": "stop", "selection": "picked", "vm": too_many, **form_key()})
    assert not Job.objects.exists()

    plan = signed_in.get("/jobs/plan/", {"selection": "picked", "vm": too_many})
    assert f"At most {MAX_PICKED} VMs can be picked one by one" in plan.content.decode()


def test_up_to_the_cap_picked_vms_make_a_job(partner, signed_in, monkeypatch):
    monkeypatch.setattr("jobs.services.queue_advance", lambda pk, countdown=0: None)
    make_vm(partner, 1, status="running")
    make_vm(partner, 2, status="running")

    response = signed_in.post(
        "/jobs/new/", {"action": "stop", "selection": "picked", "vm": ["vm-00001", "vm-00002"], **form_key()}
    )

    assert response.status_code == 302
    assert Job.objects.get().items.count() == 2


def test_the_bulk_bar_says_ticks_pick_the_page_shown(partner, signed_in):
    make_vm(partner, 1, status="running")
    body = signed_in.get("/vms/").content.decode()
    assert 'id="vm-bulk-hint"' in body and "this page only" in body
