from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from tests.fakes import FakeClock, FakeNovaCron
from vms import sync, tasks
from vms.models import SyncRun
from vms.pacing import SyncPacer

pytestmark = pytest.mark.django_db


@pytest.fixture
def offline_session(monkeypatch: pytest.MonkeyPatch, hmac_client: Any) -> None:
    """Tasks open their own session; hand them the mocked client and a clock that never sleeps."""

    def open_session(partner: Any, **kwargs: Any) -> sync.SyncSession:
        clock = FakeClock()
        return sync.SyncSession(
            client=hmac_client,
            pacer=SyncPacer(limit_per_minute=1000, share=0.5, clock=clock, sleep=clock.sleep),
        )

    monkeypatch.setattr(sync, "open_session", open_session)


@pytest.fixture(autouse=True)
def _no_locks_left() -> Any:
    cache.clear()
    yield
    cache.clear()


def _run_started(partner: Any, kind: str, ago: timedelta) -> SyncRun:
    return SyncRun.objects.create(partner=partner, kind=kind, started_at=timezone.now() - ago)


def _lock_taken(partner: Any, ago: timedelta) -> None:
    """The lock a worker took `ago` and never released, because it was killed mid-run."""
    timeout = settings.SYNC_RUN_ABANDON_AFTER_SECONDS - ago.total_seconds()
    cache.set(f"vms:sync-lock:vms:{partner.pk}", "1", timeout=timeout)


def test_a_run_whose_worker_died_an_hour_ago_does_not_block_the_next_and_ends_abandoned(
    partner: Any, fake_novacron: FakeNovaCron, offline_session: None
) -> None:
    fake_novacron.add_vms(5)
    dead = _run_started(partner, SyncRun.Kind.VMS_FULL, ago=timedelta(hours=1))
    _lock_taken(partner, ago=timedelta(hours=1))

    run_pk = tasks.sync_vms_full(partner.pk)

    assert run_pk is not None
    assert SyncRun.objects.get(pk=run_pk).status == SyncRun.Status.SUCCEEDED
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.ABANDONED
    assert dead.finished_at is not None and "worker stopped" in dead.error


def test_a_run_still_within_its_time_is_left_running(partner: Any, fake_novacron: FakeNovaCron) -> None:
    going = _run_started(partner, SyncRun.Kind.VMS_FULL, ago=timedelta(minutes=2))

    assert sync.sync_runs_abandon(partner=partner, kind=SyncRun.Kind.VMS_FULL) == 0
    going.refresh_from_db()
    assert going.status == SyncRun.Status.RUNNING


def test_the_periodic_sweep_marks_stale_runs_of_every_partner_and_kind(
    partner: Any, other_partner: Any
) -> None:
    stale = [
        _run_started(partner, SyncRun.Kind.PARTNER, ago=timedelta(hours=2)),
        _run_started(other_partner, SyncRun.Kind.VMS_INCREMENTAL, ago=timedelta(hours=1)),
    ]
    recent = _run_started(partner, SyncRun.Kind.VMS_FULL, ago=timedelta(seconds=30))

    assert tasks.abandon_stale_runs() == 2
    assert {SyncRun.objects.get(pk=run.pk).status for run in stale} == {SyncRun.Status.ABANDONED}
    assert SyncRun.objects.get(pk=recent.pk).status == SyncRun.Status.RUNNING


def test_the_abandon_sweep_is_a_real_beat_task() -> None:
    from portal import celery as portal_celery

    entry = settings.CELERY_BEAT_SCHEDULE["vms-abandon-stale-runs"]
    assert entry["task"] in portal_celery.app.tasks
