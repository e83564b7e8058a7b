"""Events that move quota usage schedule a quick, debounced re-read of the partner's quotas."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from tests.webhook_payloads import event, migration_data, vm_data
from vms.quota_gauges import QUOTA_REFRESH_DELAY_SECONDS, QUOTA_REFRESH_WINDOW_SECONDS, quota_refresh_soon
from webhooks import services
from webhooks.services import webhook_event_process, webhook_event_store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_windows():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def process(partner: Any, django_capture_on_commit_callbacks: Any):
    def _process(payload: dict[str, Any]) -> Any:
        receipt = webhook_event_store(partner=partner, payload=payload)
        with django_capture_on_commit_callbacks(execute=True):
            return webhook_event_process(event_pk=receipt.event.pk)

    return _process


def test_a_completed_migration_schedules_one_refresh_for_that_partner_within_the_window(
    process, partner, other_partner, quota_refreshes
):
    process(event("migration.started", migration_data(updated=1)))
    process(
        event(
            "migration.completed",
            migration_data(status="completed", phase="completed", progress=100, updated=2),
        )
    )

    assert quota_refreshes == [(partner.pk, QUOTA_REFRESH_DELAY_SECONDS)]
    assert QUOTA_REFRESH_DELAY_SECONDS > QUOTA_REFRESH_WINDOW_SECONDS


def test_a_completed_migration_after_the_window_schedules_another_refresh(process, partner, quota_refreshes):
    process(event("migration.started", migration_data(updated=1)))
    cache.delete(f"debounce:quota-refresh:{partner.pk}")  # the window has closed

    process(
        event(
            "migration.completed",
            migration_data(status="completed", phase="completed", progress=100, updated=2),
        )
    )

    assert quota_refreshes == [(partner.pk, QUOTA_REFRESH_DELAY_SECONDS)] * 2


def test_each_partner_has_its_own_quota_window(process, partner, other_partner, quota_refreshes):
    quota_refresh_soon(partner_pk=other_partner.pk)

    process(event("migration.completed", migration_data(status="completed", phase="completed", progress=100)))

    assert [pk for pk, _ in quota_refreshes] == [other_partner.pk, partner.pk]


@pytest.mark.parametrize(
    "payload",
    [
        event("migration.failed", migration_data(status="failed", phase="failed", error="disk full")),
        event("migration.progress", migration_data(status="cancelled", phase="cancelled")),
        event("vm.created", vm_data(status="provisioning")),
        event("vm.deleted", vm_data(status="deleted")),
        event("quota.exceeded", {"quota": "vm_create_per_day", "used": 200, "limit": 200}),
    ],
    ids=lambda payload: f"{payload['event_type']}-{payload['data'].get('status', '')}",
)
def test_events_that_move_quota_usage_schedule_a_refresh(process, partner, quota_refreshes, payload):
    process(payload)

    assert quota_refreshes == [(partner.pk, QUOTA_REFRESH_DELAY_SECONDS)]


@pytest.mark.parametrize(
    "payload",
    [event("migration.progress", migration_data(progress=40)), event("vm.started", vm_data())],
    ids=["migration.progress-in_progress", "vm.started"],
)
def test_events_that_leave_quota_usage_alone_schedule_nothing(process, quota_refreshes, payload):
    process(payload)

    assert quota_refreshes == []


def test_a_failed_processing_schedules_no_refresh(process, quota_refreshes, monkeypatch):
    monkeypatch.setattr(
        services, "store_migration", lambda **kwargs: (_ for _ in ()).throw(RuntimeError("x"))
    )

    with pytest.raises(RuntimeError):
        process(
            event("migration.completed", migration_data(status="completed", phase="completed", progress=100))
        )

    assert quota_refreshes == []
