from __future__ import annotations

from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from live.models import EVERYONE, Event
from tests.webhook_payloads import at, event, migration_data, vm_data
from vms.models import VM, Cluster, Migration
from webhooks.models import Notification, WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def process(partner: Any, django_capture_on_commit_callbacks: Any):
    """Store a verified payload and process it as the Celery task would."""

    def _process(payload: dict[str, Any]) -> WebhookEvent:
        receipt = webhook_event_store(partner=partner, payload=payload)
        with django_capture_on_commit_callbacks(execute=True):
            return webhook_event_process(event_pk=receipt.event.pk)

    return _process


def _cache_vm(partner: Any, **fields: Any) -> VM:
    values = {
        "partner": partner,
        "vm_id": "vm-0001",
        "name": "web-0001",
        "status": "running",
        "cluster": "cl-aws-use1-a",
        "created_at": parse_datetime(at(-3600)),
        "updated_at": parse_datetime(at(-100)),
        "synced_at": parse_datetime(at(-100)),
    }
    values.update(fields)
    return VM.objects.create(**values)


@pytest.mark.parametrize(
    "event_type, status",
    [("vm.created", "provisioning"), ("vm.started", "running"), ("vm.stopped", "stopped")],
)
def test_a_vm_event_upserts_the_cached_vm(process, partner, event_type, status):
    processed = process(event(event_type, vm_data(status=status, updated=5)))
    assert processed.status == WebhookEvent.Status.PROCESSED
    assert processed.attempts == 1
    assert processed.processing_ms is not None
    vm = VM.objects.get(partner=partner, vm_id="vm-0001")
    assert vm.status == status
    assert vm.updated_at == parse_datetime(at(5))
    assert vm.tags == {"env": "prod"}


def test_a_vm_event_publishes_the_vm_status_badge(process, partner):
    _cache_vm(partner)
    process(event("vm.stopped", vm_data(status="stopped", updated=5)))
    published = Event.objects.get(partner=partner, topic="vm", audience=EVERYONE)
    assert 'id="vm-status-vm-0001"' in published.html
    assert 'data-vm-status="stopped"' in published.html


def test_a_vm_new_to_the_cache_moves_only_the_overviews_counts(process, partner):
    process(event("vm.created", vm_data(status="provisioning", updated=5)))
    assert not Event.objects.filter(topic="vm").exists()  # no open page can show it yet
    assert 'id="fleet-breakdown"' in Event.objects.get(partner=partner, topic="fleet").html


def test_an_older_vm_event_never_overwrites_a_newer_cache(process, partner):
    _cache_vm(partner, status="stopped", updated_at=parse_datetime(at(50)))
    process(event("vm.started", vm_data(status="running", updated=10)))
    assert VM.objects.get().status == "stopped"
    assert not Event.objects.exists()


def test_vm_deleted_removes_the_vm_and_a_late_older_event_does_not_bring_it_back(process, partner):
    _cache_vm(partner)
    process(event("vm.deleted", vm_data(status="deleted", updated=30, deleted_at=at(30))))
    assert not VM.objects.exists()
    process(event("vm.started", vm_data(status="running", updated=20)))
    assert not VM.objects.exists()


def test_migration_started_creates_the_migration_and_marks_the_vm_migrating(process, partner):
    _cache_vm(partner)
    process(
        event(
            "migration.started",
            migration_data(status="in_progress", phase="pre_check", progress=0, updated=1),
        )
    )
    migration = Migration.objects.get(partner=partner, migration_id="mig-0001")
    assert migration.status == "in_progress"
    assert migration.vm_name == "web-0001"
    assert migration.last_event_at is not None
    assert VM.objects.get().status == "migrating"
    html = Event.objects.filter(topic="migration").first().html
    assert 'id="migration-mig-0001"' in html
    assert 'hx-swap-oob="true"' in html


def test_progress_events_append_rate_samples_and_keep_the_last_sixty(process, partner):
    for second in range(1, 66):
        process(
            event(
                "migration.progress",
                migration_data(progress=second, updated=second, transfer_rate=100 + second),
            )
        )
    migration = Migration.objects.get()
    assert len(migration.rate_history) == 60
    assert migration.rate_history[-1][1] == 165.0
    assert migration.rate_history[0][1] == 106.0
    assert migration.progress_percentage == 65


def test_an_out_of_order_progress_event_never_moves_a_migration_backwards(process):
    process(event("migration.progress", migration_data(progress=60, updated=60)))
    process(event("migration.progress", migration_data(progress=30, updated=30)))
    migration = Migration.objects.get()
    assert migration.progress_percentage == 60
    assert len(migration.rate_history) == 1


def test_a_finished_migration_never_returns_to_in_progress(process, partner):
    _cache_vm(partner, updated_at=parse_datetime(at(-100)))
    Cluster.objects.create(
        partner=partner,
        cluster_id="cl-aws-usw2-a",
        name="usw2-a",
        cloud_provider="aws",
        region="us-west-2",
        synced_at=parse_datetime(at(0)),
    )
    process(
        event(
            "migration.completed",
            migration_data(status="completed", phase="completed", progress=100, updated=90),
        )
    )
    # A progress event delayed in flight, even one stamped later, must not reopen it.
    process(event("migration.progress", migration_data(status="in_progress", progress=95, updated=95)))
    migration = Migration.objects.get()
    assert migration.status == "completed"
    assert migration.progress_percentage == 100
    vm = VM.objects.get()
    assert vm.status == "running"
    assert vm.cluster == "cl-aws-usw2-a"
    assert vm.region == "us-west-2"


def test_migration_failed_records_the_error_and_puts_the_vm_back(process, partner):
    _cache_vm(partner, status="migrating")
    process(
        event(
            "migration.failed",
            migration_data(
                status="failed",
                phase="memory_precopy",
                updated=40,
                error="target cluster rejected the memory image",
            ),
        )
    )
    migration = Migration.objects.get()
    assert migration.status == "failed"
    assert migration.error == "target cluster rejected the memory image"
    vm = VM.objects.get()
    assert vm.status == "running"
    assert vm.cluster == "cl-aws-use1-a"
    assert "target cluster rejected the memory image" in Event.objects.filter(topic="migration").last().html


def test_alert_critical_becomes_a_notification(process, partner):
    process(
        event(
            "alert.critical",
            {
                "alert_id": "alrt-1",
                "severity": "critical",
                "resource_type": "vm",
                "resource_id": "vm-0001",
                "metric": "cpu_usage",
                "value": 99.1,
                "threshold": 95,
                "message": "CPU above 95% for 5 minutes",
            },
        )
    )
    notification = Notification.objects.get(partner=partner)
    assert notification.kind == "alert.critical"
    # No VM vm-0001 in the cache: the title falls back to its id (webhooks/tests/test_alert_text.py names it).
    assert notification.title == "CPU usage at 99.1 % on vm-0001"
    assert notification.message == "Above the threshold of 95 %."
    assert not notification.is_acknowledged
    assert 'id="notification-' in Event.objects.get(topic="notification").html


def test_quota_exceeded_becomes_a_notification(process, partner):
    process(
        event(
            "quota.exceeded",
            {
                "quota": "vm_create_per_day",
                "limit": 100,
                "used": 100,
                "requested": 1,
                "message": "Daily VM creation quota reached",
            },
        )
    )
    notification = Notification.objects.get(partner=partner)
    assert notification.kind == "quota.exceeded"
    assert "vm_create_per_day" in notification.title


@pytest.mark.parametrize(
    "payload",
    [
        event("vm.started", vm_data(updated=5)),
        event("migration.progress", migration_data(updated=5)),
        event(
            "alert.critical", {"resource_id": "vm-1", "metric": "cpu_usage", "value": 99, "message": "hot"}
        ),
    ],
    ids=["vm", "migration", "alert"],
)
def test_processing_the_same_event_again_changes_nothing(
    process, partner, payload, django_capture_on_commit_callbacks
):
    first = process(payload)
    snapshot = (
        list(VM.objects.values()),
        list(Migration.objects.values()),
        list(Notification.objects.values()),
    )
    events = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        again = webhook_event_process(event_pk=first.pk)
    # Even forced back to "received", applying the event again is a no-op on the cache.
    WebhookEvent.objects.filter(pk=first.pk).update(status=WebhookEvent.Status.RECEIVED)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_process(event_pk=first.pk)
    assert again.attempts == 1
    assert (
        list(VM.objects.values()),
        list(Migration.objects.values()),
        list(Notification.objects.values()),
    ) == snapshot
    assert Event.objects.count() == events


def test_a_failure_is_recorded_on_the_event_and_raised_for_the_retry(process, partner, monkeypatch):
    from webhooks import services

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(services, "vm_apply_event", broken)
    receipt = webhook_event_store(partner=partner, payload=event("vm.started", vm_data()))
    with pytest.raises(RuntimeError):
        webhook_event_process(event_pk=receipt.event.pk)
    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.Status.FAILED
    assert "database on fire" in stored.error
    assert stored.attempts == 1


def test_reprocessing_a_failed_event_queues_it_and_applies_it(
    partner, monkeypatch, django_capture_on_commit_callbacks
):
    from webhooks import tasks
    from webhooks.services import webhook_event_reprocess

    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", queued.append)
    receipt = webhook_event_store(
        partner=partner, payload=event("quota.exceeded", {"quota": "vm_create_per_day"})
    )
    WebhookEvent.objects.filter(pk=receipt.event.pk).update(status=WebhookEvent.Status.FAILED, error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_reprocess(event=receipt.event)
    assert queued == [receipt.event.pk]
    with django_capture_on_commit_callbacks(execute=True):
        processed = webhook_event_process(event_pk=receipt.event.pk)
    assert processed.status == WebhookEvent.Status.PROCESSED
    assert processed.error == ""
    assert Notification.objects.filter(partner=partner).count() == 1
