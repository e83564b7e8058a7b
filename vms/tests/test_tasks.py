from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from tests.fakes import FakeClock, FakeNovaCron
from vms import sync, tasks
from vms.models import VM, SyncRun
from vms.pacing import SyncPacer

pytestmark = pytest.mark.django_db


@pytest.fixture
def offline_session(monkeypatch, hmac_client):
    """Tasks open their own session; hand them the mocked client and a clock that never sleeps."""

    def open_session(partner: Any, **kwargs: Any) -> sync.SyncSession:
        clock = FakeClock()
        return sync.SyncSession(
            client=hmac_client,
            pacer=SyncPacer(limit_per_minute=1000, share=0.5, clock=clock, sleep=clock.sleep),
        )

    monkeypatch.setattr(sync, "open_session", open_session)


@pytest.fixture(autouse=True)
def _no_locks_left():
    cache.clear()
    yield
    cache.clear()


def test_a_task_runs_the_sync_for_the_partner_id_it_is_given(
    partner, fake_novacron: FakeNovaCron, offline_session
):
    fake_novacron.add_vms(30)

    run_pk = tasks.sync_vms_full(partner.pk)

    run = SyncRun.objects.get(pk=run_pk)
    assert run.status == SyncRun.Status.SUCCEEDED and run.items == 30
    assert VM.objects.filter(partner=partner).count() == 30


def test_a_run_still_going_makes_the_next_one_skip(partner, fake_novacron: FakeNovaCron, offline_session):
    cache.add(f"vms:sync-lock:vms:{partner.pk}", "1")

    assert tasks.sync_vms_incremental(partner.pk) is None
    assert not SyncRun.objects.exists() and not fake_novacron.requests


def test_a_vanished_partner_is_ignored(db):
    assert tasks.sync_partner(987654) is None


def test_the_fan_out_covers_only_partners_with_credentials(partner, other_partner, monkeypatch):
    other_partner.api_key = ""
    other_partner.save()
    queued: list[int] = []
    monkeypatch.setattr(tasks.sync_vms_incremental, "delay", queued.append)

    assert tasks.sync_all_vms_incremental() == 1
    assert queued == [partner.pk]


def test_a_starting_worker_queues_a_vm_and_quota_sync_of_every_partner(monkeypatch):
    from portal import celery as portal_celery

    sent: list[str] = []
    monkeypatch.setattr(portal_celery.app, "send_task", lambda name, *args, **kwargs: sent.append(name))

    portal_celery._sync_at_start()

    assert sent == ["vms.sync_all_vms_incremental", "vms.sync_all_partners"]
    # The names must be real tasks: a typo would be queued and silently never run.
    assert set(sent) <= set(portal_celery.app.tasks)
