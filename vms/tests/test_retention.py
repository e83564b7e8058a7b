from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from vms.models import SyncRun
from vms.retention import sync_runs_prune
from vms.sync import last_watermark

pytestmark = pytest.mark.django_db

MONTH = timedelta(days=30)


def run(
    partner: Any,
    *,
    age: timedelta,
    kind: str = SyncRun.Kind.VMS_INCREMENTAL,
    status: str = SyncRun.Status.SUCCEEDED,
) -> SyncRun:
    started = timezone.now() - age
    return SyncRun.objects.create(
        partner=partner,
        kind=kind,
        status=status,
        started_at=started,
        finished_at=started,
        watermark=started if status == SyncRun.Status.SUCCEEDED else None,
    )


def test_old_runs_go_and_young_ones_stay(partner: Any) -> None:
    run(partner, age=MONTH + timedelta(days=2))
    run(partner, age=MONTH + timedelta(days=1), status=SyncRun.Status.FAILED)
    young = run(partner, age=timedelta(days=1))

    assert sync_runs_prune(older_than=MONTH) == 2
    assert list(SyncRun.objects.all()) == [young]


def test_the_latest_successful_run_of_each_kind_stays_however_old(partner: Any, other_partner: Any) -> None:
    run(partner, age=3 * MONTH)
    latest = run(partner, age=2 * MONTH)
    run(
        partner, age=MONTH + timedelta(days=1), status=SyncRun.Status.FAILED
    )  # a newer failure does not count
    full = run(partner, age=2 * MONTH + timedelta(days=1), kind=SyncRun.Kind.VMS_FULL)
    others = run(other_partner, age=3 * MONTH)

    assert sync_runs_prune(older_than=MONTH) == 2
    assert set(SyncRun.objects.all()) == {latest, full, others}
    assert last_watermark(partner) == latest.watermark  # the next incremental sync resumes from it
