"""The quick quota refresh a webhook schedules: re-read the quotas, push the overview's cards live."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from live.models import Event
from partners.models import Quota
from tests.fakes import T0, FakeClock, FakeNovaCron
from vms import sync, tasks
from vms.models import SyncRun
from vms.pacing import SyncPacer
from vms.topics import QUOTAS_TOPIC

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_locks_left():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def offline_session(monkeypatch, hmac_client):
    def open_session(partner, **kwargs):
        clock = FakeClock()
        return sync.SyncSession(
            client=hmac_client,
            pacer=SyncPacer(limit_per_minute=1000, share=0.5, clock=clock, sleep=clock.sleep),
        )

    monkeypatch.setattr(sync, "open_session", open_session)


def test_the_refresh_rereads_the_quotas_and_publishes_the_cards_to_that_partner_only(
    partner, other_partner, fake_novacron: FakeNovaCron, offline_session
):
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=10, used=2, remaining=8, synced_at=T0
    )
    fake_novacron.quotas = [
        {"name": "migration_concurrent", "limit": 10, "used": 1, "remaining": 9, "reset_at": None}
    ]

    run_pk = tasks.refresh_quotas(partner.pk)

    assert SyncRun.objects.get(pk=run_pk).kind == SyncRun.Kind.PARTNER
    assert partner.quotas.get(name="migration_concurrent").used == 1
    published = Event.objects.get(topic=QUOTAS_TOPIC)
    assert published.partner == partner
    assert published.html.lstrip().startswith('<div class="row g-3" id="quota-gauges">')
    assert "used 1 of 10" in published.html and "Concurrent migrations" in published.html
    assert not Event.objects.filter(partner=other_partner).exists()


def test_a_refresh_during_a_running_sync_publishes_what_is_cached(
    partner, fake_novacron: FakeNovaCron, offline_session
):
    Quota.objects.create(
        partner=partner, name="vm_create_per_day", limit=200, used=17, remaining=183, synced_at=T0
    )
    cache.add(f"vms:sync-lock:partner:{partner.pk}", "1")

    assert tasks.refresh_quotas(partner.pk) is None

    assert not fake_novacron.requests
    assert "used 17 of 200" in Event.objects.get(partner=partner, topic=QUOTAS_TOPIC).html


def test_a_refresh_for_a_vanished_partner_does_nothing(db):
    assert tasks.refresh_quotas(987654) is None
    assert not Event.objects.exists()


def test_the_overview_listens_for_quota_cards_and_has_the_element_they_replace(owner, client_of):
    import re

    body = client_of(owner).get("/").text

    topics = re.search(r'id="live-stream"[^>]*data-live-topics="([^"]*)"', body)
    assert topics is not None and QUOTAS_TOPIC in topics.group(1).split(",")
    assert body.count('id="quota-gauges"') == 1
