"""Changes gathered by `publishing.coalesced()` are published once, after commit, as committed then."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from live.models import EVERYONE, Event
from tests.factories import make_vm
from vms import publishing
from vms.models import VM

pytestmark = pytest.mark.django_db


def test_changes_inside_are_published_once_after_commit_from_the_rows_as_committed(
    partner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_vm(partner, 1, status="running")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with publishing.coalesced():
            publishing.vms_changed(partner=partner, vm_ids=["vm-00001"])
            VM.objects.filter(vm_id="vm-00001").update(status="stopped")
            publishing.vms_changed(partner=partner, vm_ids=["vm-00001"], added=1)
        assert not Event.objects.exists()  # nothing before commit
    [everyone] = Event.objects.filter(topic="vm", audience=EVERYONE)
    assert everyone.html.count('id="vm-spec-vm-00001"') == 1
    assert 'data-vm-status="stopped"' in everyone.html
    assert Event.objects.filter(topic="fleet").count() == 1


def test_a_vm_removed_and_made_again_inside_is_shown_as_it_is_now(
    partner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    vm = make_vm(partner, 1, status="running")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), publishing.coalesced():
        publishing.vms_changed(partner=partner, removed=[vm])
        publishing.vms_changed(partner=partner, added=1)
    [everyone] = Event.objects.filter(topic="vm", audience=EVERYONE)
    assert 'data-vm-status="running"' in everyone.html


def test_a_block_that_raises_publishes_nothing(partner: Any, django_capture_on_commit_callbacks: Any) -> None:
    make_vm(partner, 1)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), publishing.coalesced():
            publishing.vms_changed(partner=partner, vm_ids=["vm-00001"])
            raise RuntimeError("rolled back")
        publishing.vms_changed(partner=partner, added=1)  # outside again: published on its own
    assert not Event.objects.filter(topic="vm").exists()
    assert Event.objects.filter(topic="fleet").count() == 1
