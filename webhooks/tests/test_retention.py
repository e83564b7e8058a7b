from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from portal.retention import old_records_prune
from webhooks.models import Notification, WebhookEvent, WebhookRejection
from webhooks.retention import notifications_prune, webhook_events_prune, webhook_rejections_prune

pytestmark = pytest.mark.django_db

MONTH = timedelta(days=30)


def event(
    partner: Any, n: int, *, age: timedelta, status: str = WebhookEvent.Status.PROCESSED
) -> WebhookEvent:
    return WebhookEvent.objects.create(
        partner=partner,
        event_id=f"evt-{n}",
        event_type="vm.updated",
        payload={},
        received_at=timezone.now() - age,
        status=status,
    )


def notification(partner: Any, n: int, *, age: timedelta, acknowledged: bool = True) -> Notification:
    created = timezone.now() - age
    return Notification.objects.create(
        partner=partner,
        kind=Notification.Kind.ALERT_CRITICAL,
        source_event_id=f"evt-{n}",
        title="CPU",
        created_at=created,
        acknowledged_at=created if acknowledged else None,
    )


def test_old_handled_events_go_and_young_ones_stay(partner: Any) -> None:
    event(partner, 1, age=MONTH + timedelta(hours=1))
    event(partner, 2, age=MONTH + timedelta(hours=1), status=WebhookEvent.Status.IGNORED)
    young = event(partner, 3, age=MONTH - timedelta(hours=1))

    assert webhook_events_prune(older_than=MONTH) == 2
    assert list(WebhookEvent.objects.all()) == [young]


def test_pending_and_failed_events_stay_however_old(partner: Any) -> None:
    pending = event(partner, 1, age=3 * MONTH, status=WebhookEvent.Status.RECEIVED)
    failed = event(partner, 2, age=3 * MONTH, status=WebhookEvent.Status.FAILED)

    assert webhook_events_prune(older_than=MONTH) == 0
    assert set(WebhookEvent.objects.all()) == {pending, failed}


def test_events_are_deleted_in_batches_until_none_is_left(partner: Any) -> None:
    for n in range(7):
        event(partner, n, age=2 * MONTH)

    from lib.pruning import delete_in_batches

    old = WebhookEvent.objects.filter(received_at__lt=timezone.now() - MONTH)
    assert delete_in_batches(old, batch_size=3) == 7
    assert not WebhookEvent.objects.exists()


def refusal_count(partner: Any, *, age: timedelta, reason: str = "bad_signature") -> WebhookRejection:
    minute = (timezone.now() - age).replace(second=0, microsecond=0)
    return WebhookRejection.objects.create(
        partner=partner, reason=reason, minute=minute, count=3, last_at=minute, last_addresses=["203.0.113.9"]
    )


def test_old_refusal_counts_go_and_young_ones_stay(partner: Any) -> None:
    refusal_count(partner, age=timedelta(days=8))
    young = refusal_count(partner, age=timedelta(days=6), reason="malformed")

    assert webhook_rejections_prune(older_than=timedelta(days=7)) == 1
    assert list(WebhookRejection.objects.all()) == [young]


def test_old_acknowledged_notifications_go_and_open_or_young_ones_stay(partner: Any) -> None:
    quarter = timedelta(days=90)
    notification(partner, 1, age=quarter + timedelta(days=1))
    open_one = notification(partner, 2, age=quarter + timedelta(days=1), acknowledged=False)
    young = notification(partner, 3, age=quarter - timedelta(days=1))

    assert notifications_prune(older_than=quarter) == 1
    assert set(Notification.objects.all()) == {open_one, young}


def test_the_hourly_job_applies_each_tables_retention_setting(partner: Any, settings: Any) -> None:
    settings.RETENTION_WEBHOOK_EVENTS_DAYS = 30
    settings.RETENTION_WEBHOOK_REJECTIONS_DAYS = 7
    settings.RETENTION_NOTIFICATIONS_DAYS = 90
    event(partner, 1, age=timedelta(days=31))
    event(partner, 2, age=timedelta(days=29))
    refusal_count(partner, age=timedelta(days=8), reason="malformed")
    notification(partner, 1, age=timedelta(days=91))

    assert old_records_prune() == {
        "webhook_events": 1,
        "webhook_rejections": 1,
        "sync_runs": 0,
        "notifications": 1,
        "audit_entries": 0,  # audit/tests/test_append_only.py
    }
    assert WebhookEvent.objects.get().event_id == "evt-2"


def test_the_job_is_on_beats_schedule_with_an_expiry(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["prune-old-records"]
    assert entry["task"] == "portal.prune_old_records"
    assert entry["options"] == {"expires": entry["schedule"]}

    from portal.celery import app

    app.loader.import_default_modules()
    assert "portal.prune_old_records" in app.tasks
