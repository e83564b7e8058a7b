"""The fallback for lost webhooks: quiet active migrations are polled through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import novacron
import pytest
import responses
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from novacron.config import SDKConfig

from live.models import Event
from tests.webhook_payloads import at, migration_data
from vms.migration_services import migrations_poll_stale
from vms.models import Migration

pytestmark = pytest.mark.django_db

API = settings.NOVACRON_API_URL.rstrip("/")


@pytest.fixture
def client(partner: Any) -> novacron.Client:
    return novacron.Client(
        SDKConfig(
            base_url=API,
            partner_id=partner.partner_id,
            api_key="nck_acme_test",
            api_secret="acme-test-secret",
            max_retries=0,
        )
    )


def _migration(partner: Any, migration_id: str, *, quiet_for: float, **fields: Any) -> Migration:
    seen = timezone.now() - timedelta(seconds=quiet_for)
    values = {
        "partner": partner,
        "migration_id": migration_id,
        "source_vm_id": "vm-0001",
        "target_cluster": "cl-b",
        "migration_type": "live",
        "status": "in_progress",
        "phase": "data_sync",
        "progress_percentage": 20,
        "created_at": seen,
        "updated_at": parse_datetime(at(20)),
        "synced_at": seen,
        "last_event_at": seen,
    }
    values.update(fields)
    return Migration.objects.create(**values)


def test_a_quiet_migration_is_refreshed_and_published(partner, client, django_capture_on_commit_callbacks):
    _migration(partner, "mig-0001", quiet_for=60)
    with responses.RequestsMock() as api, django_capture_on_commit_callbacks(execute=True):
        api.add(
            responses.GET, f"{API}/api/v1/migrations/mig-0001", json=migration_data(progress=70, updated=70)
        )
        assert migrations_poll_stale(partner=partner, client=client, quiet_for=timedelta(seconds=15)) == 1
    assert Migration.objects.get().progress_percentage == 70
    assert 'id="migration-mig-0001"' in Event.objects.filter(topic="migration").first().html


def test_a_migration_with_recent_events_is_not_polled(partner, client):
    _migration(partner, "mig-0001", quiet_for=2)
    with responses.RequestsMock() as api:
        assert migrations_poll_stale(partner=partner, client=client, quiet_for=timedelta(seconds=15)) == 0
        assert len(api.calls) == 0


def test_a_poll_answer_older_than_the_cache_changes_nothing(
    partner, client, django_capture_on_commit_callbacks
):
    _migration(partner, "mig-0001", quiet_for=60)
    with responses.RequestsMock() as api, django_capture_on_commit_callbacks(execute=True):
        api.add(
            responses.GET, f"{API}/api/v1/migrations/mig-0001", json=migration_data(progress=10, updated=10)
        )
        assert migrations_poll_stale(partner=partner, client=client, quiet_for=timedelta(seconds=15)) == 0
    assert Migration.objects.get().progress_percentage == 20
    assert not Event.objects.exists()


def test_finished_migrations_are_never_polled(partner, client):
    _migration(partner, "mig-0001", quiet_for=600, status="completed")
    with responses.RequestsMock() as api:
        assert migrations_poll_stale(partner=partner, client=client, quiet_for=timedelta(seconds=15)) == 0
        assert len(api.calls) == 0
