"""Every change of a cached VM reaches open pages, whoever made it; an unchanged re-store publishes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from novacron.models import VM as ApiVM

from live.audiences import controls_audience
from live.models import EVERYONE, Event
from tests.factories import make_cluster, make_vm
from tests.fakes import ROOT, vm_payload
from vms import services
from vms.cache import store_vm, store_vms, sweep_vms
from vms.publishing import VMS_PER_EVENT

pytestmark = pytest.mark.django_db


def _fragment(html: str, element_id: str) -> str:
    """The top-level element with that id, from its opening tag to the next top-level one."""
    start = html.index(f'id="{element_id}"')
    start = html.rindex("<", 0, start)
    following = re.search(r'\n<(span|div|dl|tr) id="', html[start + 1 :])
    return html[start : start + 1 + following.start()] if following else html[start:]


def _vm_events() -> list[Event]:
    """The VM events everyone of the partner receives (badges, specifications, rows)."""
    return list(Event.objects.filter(topic="vm", audience=EVERYONE).order_by("pk"))


def _actions_for(*controls: str) -> str:
    """The Actions cards streamed to people who may use exactly these controls (one event each)."""
    audience = frozenset({controls_audience(controls)})
    [event] = [
        event
        for event in Event.objects.filter(topic="vm").exclude(audience=EVERYONE)
        if event.reaches(audience)
    ]
    return event.html


def test_stopping_a_vm_in_the_portal_publishes_its_badge_actions_spec_and_row(
    partner, hmac_client, mocked_api, django_capture_on_commit_callbacks
):
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_vm(partner, 1, status="running")
    mocked_api.post(
        f"{ROOT}/vms/vm-00001/stop", json=vm_payload(1, status="stopped", updated_at="2026-03-01T00:00:00Z")
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.vm_stop(partner=partner, client=hmac_client, vm_id="vm-00001")

    [event] = _vm_events()
    badge = _fragment(event.html, "vm-status-vm-00001")
    assert 'data-vm-status="stopped"' in badge and 'hx-swap-oob="true"' in badge
    assert "data-action=" not in event.html  # what everyone receives carries no control
    actions = _fragment(_actions_for("vm:write", "migration:execute"), "vm-actions-vm-00001")
    start = re.search(r"<button[^>]*data-action=\"start\"[^>]*>", actions).group(0)
    stop = re.search(r"<button[^>]*data-action=\"stop\"[^>]*>", actions).group(0)
    assert "disabled" not in start
    assert "disabled" in stop and "A stopped VM can&#x27;t be stopped." in actions
    assert 'data-action="migrate"' in actions  # a stopped VM can migrate
    assert 'name="csrfmiddlewaretoken"' not in actions  # shared by the partner: the page adds its own
    # Each person gets the card with only the controls they may use.
    only_write = _actions_for("vm:write")
    assert 'data-action="stop"' in only_write and 'data-action="migrate"' not in only_write
    only_migrate = _actions_for("migration:execute")
    assert 'data-action="migrate"' in only_migrate and 'data-action="stop"' not in only_migrate
    read_only = _actions_for()
    assert 'id="vm-actions-vm-00001"' in read_only and "data-action=" not in read_only
    assert "CL-AWS-USE1-A" in _fragment(event.html, "vm-spec-vm-00001")
    row = _fragment(event.html, "vm-row-vm-00001")
    assert row.startswith("<tr") and 'data-vm-status="stopped"' in row
    assert 'id="fleet-breakdown"' in Event.objects.get(topic="fleet").html


def test_a_vm_that_finished_provisioning_publishes_an_actions_card_offering_stop_and_migrate(
    partner, django_capture_on_commit_callbacks
):
    make_vm(partner, 1, status="provisioning")

    with django_capture_on_commit_callbacks(execute=True):
        store_vm(partner=partner, vm=vm_payload(1, status="running", updated_at="2026-03-01T00:00:00Z"))

    actions = _fragment(_actions_for("vm:write", "migration:execute"), "vm-actions-vm-00001")
    assert "still provisioning" not in actions
    assert "disabled" not in re.search(r"<button[^>]*data-action=\"stop\"[^>]*>", actions).group(0)
    assert 'data-action="migrate"' in actions


def test_a_sync_page_that_changes_a_vm_publishes_it(partner, django_capture_on_commit_callbacks):
    unchanged = vm_payload(2, status="running", updated_at="2026-02-01T00:00:00Z")
    make_vm(partner, 1, status="running")
    store_vm(partner=partner, vm=unchanged)  # before the capture: its publish is not this test's
    page = [
        ApiVM.from_dict(vm_payload(1, status="stopped", updated_at="2026-03-01T00:00:00Z")),
        ApiVM.from_dict(unchanged),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        store_vms(partner=partner, vms=page)

    [event] = _vm_events()
    assert 'data-vm-status="stopped"' in _fragment(event.html, "vm-status-vm-00001")
    assert "vm-00002" not in event.html


def test_a_big_sync_page_is_published_in_bounded_events(partner, django_capture_on_commit_callbacks):
    count = VMS_PER_EVENT * 2 + 1
    for n in range(1, count + 1):
        make_vm(partner, n, status="running")
    page = [
        ApiVM.from_dict(vm_payload(n, status="stopped", updated_at="2026-03-01T00:00:00Z"))
        for n in range(1, count + 1)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        store_vms(partner=partner, vms=page)

    events = _vm_events()
    assert len(events) == 3
    assert sum(event.html.count('<tr id="vm-row-') for event in events) == count


def test_re_storing_what_the_cache_already_holds_publishes_nothing(
    partner, django_capture_on_commit_callbacks
):
    same = vm_payload(1, status="running", updated_at="2026-02-01T00:00:00Z")
    store_vm(partner=partner, vm=same)

    with django_capture_on_commit_callbacks(execute=True):
        assert not store_vm(partner=partner, vm=same).changed
        store_vms(partner=partner, vms=[ApiVM.from_dict(same)])

    assert not Event.objects.exists()


def test_a_vm_the_sync_no_longer_finds_is_published_as_deleted(partner, django_capture_on_commit_callbacks):
    vm = make_vm(partner, 1, status="running")

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_vms(partner=partner, unseen_since=vm.synced_at.replace(year=2030)) == 1

    html = _vm_events()[0].html
    assert 'data-vm-status="deleted"' in _fragment(html, "vm-status-vm-00001")
    assert "The VM is already deleted." in _fragment(_actions_for("vm:write"), "vm-actions-vm-00001")


def test_nothing_is_published_when_the_write_rolls_back(partner, django_capture_on_commit_callbacks: Any):
    from django.db import transaction

    make_vm(partner, 1, status="running")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        store_vm(partner=partner, vm=vm_payload(1, status="stopped", updated_at="2026-03-01T00:00:00Z"))
        raise RuntimeError("the caller failed after the store")

    assert not Event.objects.exists()
