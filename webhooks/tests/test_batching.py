"""A burst of one partner's events is applied in batches: in the order received, each exactly once,
stale ones dropped by the cache's ordering rule, and what changed published once per batch, still
in the variants of the controls each viewer may use."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from live.audiences import controls_audience
from live.models import EVERYONE, Event
from tests.webhook_payloads import at, event, migration_data, vm_data
from vms.models import VM, Migration
from webhooks.models import Notification, WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(partner: Any):
    """Store verified payloads as the receiver does (no task runs): their stored events, in order."""

    def _store(*payloads: dict[str, Any], owner: Any = None) -> list[WebhookEvent]:
        return [webhook_event_store(partner=owner or partner, payload=p).event for p in payloads]

    return _store


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any):
    """Run one event's task as the worker would (on-commit work included)."""

    def _run(stored: WebhookEvent) -> WebhookEvent:
        with django_capture_on_commit_callbacks(execute=True):
            return webhook_event_process(event_pk=stored.pk)

    return _run


def _cache_vm(partner: Any, vm_id: str = "vm-0001", **fields: Any) -> VM:
    values = {
        "partner": partner,
        "vm_id": vm_id,
        "name": f"web-{vm_id[-4:]}",
        "status": "running",
        "cluster": "cl-aws-use1-a",
        "created_at": parse_datetime(at(-3600)),
        "updated_at": parse_datetime(at(-100)),
        "synced_at": parse_datetime(at(-100)),
        **fields,
    }
    return VM.objects.create(**values)


def _statuses() -> dict[str, tuple[str, int]]:
    return {e.event_id: (e.status, e.attempts) for e in WebhookEvent.objects.all()}


def test_the_first_task_of_a_burst_applies_the_partners_waiting_events_in_the_order_received(store, run):
    stored = store(
        *(
            event("migration.progress", migration_data(progress=p, updated=p, transfer_rate=100 + p))
            for p in (10, 20, 30)
        )
    )
    processed = run(stored[0])
    assert processed.status == WebhookEvent.Status.PROCESSED
    assert set(_statuses().values()) == {("processed", 1)}
    migration = Migration.objects.get()
    # Every event was applied, oldest first: each one added its sample after the one before.
    assert [sample[1] for sample in migration.rate_history] == [110.0, 120.0, 130.0]
    assert migration.progress_percentage == 30


def test_the_tasks_of_events_a_batch_took_change_nothing(store, run):
    stored = store(*(event("vm.started", vm_data(f"vm-{n:04d}", updated=n)) for n in range(1, 4)))
    run(stored[0])
    snapshot = (list(VM.objects.values()), Event.objects.count())
    for later in stored[1:]:
        again = run(later)
        assert again.status == WebhookEvent.Status.PROCESSED
        assert again.attempts == 1
    assert (list(VM.objects.values()), Event.objects.count()) == snapshot
    assert set(_statuses().values()) == {("processed", 1)}


def test_a_stale_event_in_a_batch_is_dropped_and_the_vm_is_published_once(partner, store, run):
    _cache_vm(partner)
    stored = store(
        event("vm.stopped", vm_data(status="stopped", updated=50)),
        event("vm.started", vm_data(status="running", updated=10)),  # older, arriving later
        event("vm.stopped", vm_data(status="stopped", updated=50)),  # the same version again
    )
    run(stored[1])
    assert VM.objects.get().status == "stopped"
    assert set(_statuses().values()) == {("processed", 1)}
    [everyone] = Event.objects.filter(topic="vm", audience=EVERYONE)
    assert 'data-vm-status="stopped"' in everyone.html
    assert Event.objects.filter(topic="fleet").count() == 1


def test_a_batch_publishes_each_changed_vm_once_with_the_controls_each_viewer_may_use(partner, store, run):
    _cache_vm(partner, "vm-0001")
    _cache_vm(partner, "vm-0002", status="stopped")
    stored = store(
        event("vm.stopped", vm_data("vm-0001", status="stopped", updated=5)),
        event("vm.started", vm_data("vm-0002", status="running", updated=6)),
        event("vm.started", vm_data("vm-0001", status="running", updated=7)),
        event("vm.created", vm_data("vm-0003", status="provisioning", updated=8)),
    )
    run(stored[0])
    [everyone] = Event.objects.filter(topic="vm", audience=EVERYONE)
    assert everyone.html.count('id="vm-spec-vm-0001"') == 1
    assert everyone.html.count('id="vm-spec-vm-0002"') == 1
    assert 'data-vm-status="running"' in everyone.html  # vm-0001 as its last event left it
    assert 'data-vm-status="stopped"' not in everyone.html
    assert "vm-0003" not in everyone.html  # new to the cache: no open page shows it yet
    assert "data-action=" not in everyone.html
    cards = Event.objects.filter(topic="vm").exclude(audience=EVERYONE)

    def card_for(*controls: str) -> str:
        audience = frozenset({controls_audience(controls)})
        [reaching] = [e for e in cards if e.reaches(audience)]
        return reaching.html

    assert 'data-action="stop"' in card_for("vm:write")
    assert 'data-action="migrate"' not in card_for("vm:write")
    assert 'data-action="migrate"' in card_for("migration:execute")
    assert "data-action=" not in card_for()
    assert Event.objects.filter(topic="fleet").count() == 1


def test_a_backlog_larger_than_a_batch_is_applied_in_order_by_several(store, run, settings):
    settings.WEBHOOK_PROCESS_BATCH_SIZE = 2
    stored = store(
        *(
            event("migration.progress", migration_data(progress=p, updated=p, transfer_rate=100 + p))
            for p in (10, 20, 30, 40, 50)
        )
    )
    # The newest event's task: the four older ones go first, two at a time, then it.
    run(stored[-1])
    assert set(_statuses().values()) == {("processed", 1)}
    assert [s[1] for s in Migration.objects.get().rate_history] == [110.0, 120.0, 130.0, 140.0, 150.0]
    # One panel per batch, not per event (each in the variants of who may cancel it).
    read_only = frozenset({controls_audience(())})
    assert sum(e.reaches(read_only) for e in Event.objects.filter(topic="migration")) == 3


def test_a_batch_takes_no_event_of_another_partner(partner, other_partner, store, run):
    ours = store(event("vm.started", vm_data("vm-0001", updated=1)))
    theirs = store(event("vm.started", vm_data("vm-0002", updated=1)), owner=other_partner)
    run(ours[0])
    assert WebhookEvent.objects.get(pk=theirs[0].pk).status == WebhookEvent.Status.RECEIVED
    assert not VM.objects.filter(partner=other_partner).exists()
    run(theirs[0])
    assert VM.objects.get(partner=other_partner).vm_id == "vm-0002"


def test_one_failing_event_does_not_stop_its_batch_and_its_own_task_retries_it(
    partner, store, run, monkeypatch
):
    from webhooks import services

    real, real_run = services.vm_apply_event, services.store_vm_events

    def flaky(**kwargs: Any) -> Any:
        if kwargs["data"]["vm_id"] == "vm-0002":
            raise RuntimeError("database on fire")
        return real(**kwargs)

    def flaky_run(**kwargs: Any) -> Any:
        # The run of VM events written as one page fails with it; then each is applied on its own.
        if any(data["vm_id"] == "vm-0002" for data, _ in kwargs["events"]):
            raise RuntimeError("database on fire")
        return real_run(**kwargs)

    monkeypatch.setattr(services, "vm_apply_event", flaky)
    monkeypatch.setattr(services, "store_vm_events", flaky_run)
    stored = store(*(event("vm.started", vm_data(f"vm-{n:04d}", updated=n)) for n in (1, 2, 3)))
    run(stored[0])
    assert [s for s, _ in _statuses().values()] == ["processed", "failed", "processed"]
    assert sorted(VM.objects.values_list("vm_id", flat=True)) == ["vm-0001", "vm-0003"]
    with pytest.raises(RuntimeError):
        run(stored[1])  # its own task: tried again, failing again, raised for Celery's retry
    monkeypatch.setattr(services, "vm_apply_event", real)
    monkeypatch.setattr(services, "store_vm_events", real_run)
    retried = run(stored[1])
    assert (retried.status, retried.attempts) == ("processed", 3)
    assert VM.objects.filter(vm_id="vm-0002").exists()


def test_a_notification_in_a_batch_is_made_once(partner, store, run):
    alert = event("alert.critical", {"resource_id": "vm-1", "metric": "cpu_usage", "value": 99})
    stored = store(alert, event("vm.started", vm_data(updated=1)))
    run(stored[1])
    run(stored[0])
    WebhookEvent.objects.filter(pk=stored[0].pk).update(status=WebhookEvent.Status.RECEIVED)
    run(stored[0])  # forced back: applied again, still one notification
    assert Notification.objects.filter(partner=partner).count() == 1
    assert Event.objects.filter(topic="notification").count() == 1


def test_a_batch_costs_a_bounded_number_of_queries_per_event(store, run, django_assert_max_num_queries):
    stored = store(*(event("vm.started", vm_data(f"vm-{n:04d}", updated=n)) for n in range(1, 41)))
    # Per event: its savepoints, the VM's read, the tombstone check and the insert, and the VM's state
    # interval (vms.intervals: its read and the new interval); per batch: the claim, the status write
    # and one publish. One task per event would pay the claim, the status write and the publish (the
    # fleet's counts) forty times.
    with django_assert_max_num_queries(40 * 9 + 20):
        run(stored[0])
    assert set(_statuses().values()) == {("processed", 1)}
