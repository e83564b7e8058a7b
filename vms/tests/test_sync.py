from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils.dateparse import parse_datetime

from partners.models import Partner, Quota
from tests.fakes import T0, FakeClock, FakeNovaCron, cluster_payload, error_body, iso, migration_payload
from vms import sync
from vms.models import VM, Cluster, Migration, SyncRun
from vms.pacing import SyncPacer

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(fake_novacron: FakeNovaCron) -> FakeNovaCron:
    fake_novacron.add_vms(1200)
    fake_novacron.clusters = [
        cluster_payload("cl-aws-use1-a", "aws", "us-east-1"),
        cluster_payload("cl-gcp-euw1-a", "gcp", "europe-west1"),
    ]
    fake_novacron.migrations = {"mig-1": migration_payload("mig-1")}
    return fake_novacron


def _first_sync(partner: Any, client: Any, pacer: SyncPacer) -> SyncRun:
    run = sync.sync_vms_incremental(partner=partner, client=client, pacer=pacer)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def test_a_first_sync_stores_every_vm_cluster_and_active_migration(partner, fleet, hmac_client, pacer):
    run = _first_sync(partner, hmac_client, pacer)

    assert run.kind == SyncRun.Kind.VMS_FULL
    assert VM.objects.filter(partner=partner).count() == 1200
    assert set(Cluster.objects.values_list("cluster_id", flat=True)) == {"cl-aws-use1-a", "cl-gcp-euw1-a"}
    assert Migration.objects.get(migration_id="mig-1").vm_name == "web-00001"
    assert run.items == 1200
    assert run.watermark == parse_datetime(fleet.vms["vm-01200"]["updated_at"])
    assert run.api_calls == len(fleet.requests)
    assert run.finished_at is not None


def test_an_incremental_sync_fetches_only_what_changed_since_the_watermark(
    partner, fleet, hmac_client, pacer
):
    first = _first_sync(partner, hmac_client, pacer)
    changed_at = T0 + timedelta(hours=1)
    fleet.vms["vm-00007"].update(status="stopped", updated_at=iso(changed_at))
    fleet.requests.clear()

    run = sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer)

    assert run.kind == SyncRun.Kind.VMS_INCREMENTAL and run.status == SyncRun.Status.SUCCEEDED
    vm_requests = [url for url in fleet.requests if "/vms?" in url]
    assert len(vm_requests) == 1 and "updated_since=" in vm_requests[0]
    # The overlap re-reads the last few seconds before the watermark (VMs 1195..1200), plus the change.
    overlap = sync.WATERMARK_OVERLAP.total_seconds()
    assert run.items == 1 + int(overlap) + 1
    assert VM.objects.get(vm_id="vm-00007").status == "stopped"
    assert run.watermark == changed_at
    assert run.watermark > first.watermark


def test_a_tombstone_deletes_the_cached_vm(partner, fleet, hmac_client, pacer):
    _first_sync(partner, hmac_client, pacer)
    gone_at = T0 + timedelta(hours=1)
    fleet.vms["vm-00003"].update(status="deleted", deleted_at=iso(gone_at), updated_at=iso(gone_at))

    run = sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer)

    assert run.deleted == 1
    assert not VM.objects.filter(vm_id="vm-00003").exists()
    assert VM.objects.filter(partner=partner).count() == 1199


def test_a_full_reconciliation_removes_vms_novacron_no_longer_has(partner, fleet, hmac_client, pacer):
    _first_sync(partner, hmac_client, pacer)
    for vm_id in ("vm-00010", "vm-00500", "vm-01111"):
        del fleet.vms[vm_id]  # purged without a tombstone the incremental sync could have seen

    run = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.deleted == 3
    assert VM.objects.filter(partner=partner).count() == 1197
    assert not VM.objects.filter(vm_id__in=["vm-00010", "vm-00500", "vm-01111"]).exists()


def test_a_vm_deleted_during_a_full_run_does_not_get_others_swept(partner, fleet, hmac_client, pacer):
    _first_sync(partner, hmac_client, pacer)

    def delete_one_early_vm(page: int) -> None:
        if page == 2:
            gone = iso(T0 + timedelta(hours=2))
            fleet.vms["vm-00001"].update(status="deleted", deleted_at=gone, updated_at=gone)

    fleet.on_vm_page = delete_one_early_vm
    run = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.SUCCEEDED
    # Nothing shifted off a page, so nothing was wrongly swept; the deleted VM was read alive on
    # page 1 and its tombstone is picked up by the next incremental run.
    assert VM.objects.filter(partner=partner).count() == 1200
    sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer)
    assert VM.objects.filter(partner=partner).count() == 1199
    assert not VM.objects.filter(vm_id="vm-00001").exists()


def test_the_sync_never_touches_another_partners_cache(partner, other_partner, fleet, hmac_client, pacer):
    VM.objects.create(
        partner=other_partner,
        vm_id="vm-00010",
        name="theirs",
        status="running",
        created_at=T0,
        updated_at=T0,
        synced_at=T0,
    )
    _first_sync(partner, hmac_client, pacer)
    del fleet.vms["vm-00010"]

    sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert VM.objects.get(partner=other_partner).name == "theirs"


def test_it_waits_out_a_429_and_carries_on(partner, fleet, hmac_client, pacer, clock: FakeClock):
    fleet.scripted = [(429, error_body("rate_limited", "slow down", retry_after=7), {"Retry-After": "7"})]

    run = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert 7 in clock.sleeps
    assert VM.objects.filter(partner=partner).count() == 1200


def test_it_gives_up_after_repeated_429s_and_records_why(partner, fleet, hmac_client, clock: FakeClock):
    pacer = SyncPacer(
        limit_per_minute=1000, share=0.5, clock=clock, sleep=clock.sleep, max_rate_limit_retries=2
    )
    fleet.scripted = [(429, error_body("rate_limited", "slow down", retry_after=3), {"Retry-After": "3"})] * 3

    run = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.FAILED
    assert "RateLimitError" in run.error
    assert clock.sleeps.count(3) == 2


def test_background_sync_stays_within_its_share_of_the_partner_budget(partner, fleet, hmac_client, clock):
    fleet.limit, fleet.remaining = 10, 15  # a tiny per-minute limit makes the pacing visible
    pacer = SyncPacer(limit_per_minute=10, share=0.5, clock=clock, sleep=clock.sleep)

    run = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.SUCCEEDED
    times = pacer.call_times
    assert len(times) == run.api_calls > 5
    busiest_minute = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert busiest_minute <= 10 * 0.5


def test_it_holds_back_when_people_have_drained_the_budget(partner, fleet, hmac_client, clock):
    fleet.limit, fleet.remaining = 600, 100  # people left 100 tokens; the sync keeps 300 for them
    pacer = SyncPacer(limit_per_minute=600, share=0.5, clock=clock, sleep=clock.sleep)

    sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    # 200 tokens short at 10 tokens/s: each call after the first waits ~20 s for the refill.
    assert pacer.call_times[1] - pacer.call_times[0] == pytest.approx(20.0)


def test_a_failed_run_records_the_error_and_keeps_the_previous_data(partner, fleet, hmac_client, pacer):
    first = _first_sync(partner, hmac_client, pacer)
    for vm_id in ("vm-00001", "vm-00002"):
        del fleet.vms[vm_id]

    def fail_on_second_page(page: int) -> None:
        if page == 2:
            fleet.scripted.append((500, error_body("internal_error", "boom"), {}))

    fleet.on_vm_page = fail_on_second_page
    run = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.FAILED
    assert "ServerError" in run.error and run.finished_at is not None
    assert run.watermark is None
    # Nothing swept on a failed run: the VMs NovaCron dropped are still shown until a good run.
    assert VM.objects.filter(partner=partner).count() == 1200
    assert sync.last_watermark(partner) == first.watermark


def test_a_failed_incremental_run_keeps_the_watermark(partner, fleet, hmac_client, pacer):
    first = _first_sync(partner, hmac_client, pacer)
    fleet.scripted = [(503, error_body("unavailable", "down"), {})]

    run = sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.FAILED
    assert sync.last_watermark(partner) == first.watermark


def test_a_migration_is_never_moved_backwards(partner, fleet, hmac_client, pacer):
    Migration.objects.create(
        partner=partner,
        migration_id="mig-1",
        source_vm_id="vm-00001",
        target_cluster="cl-aws-use1-b",
        migration_type="live",
        status="completed",
        phase="completed",
        progress_percentage=100,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=5),
        synced_at=T0,
    )
    fleet.migrations["mig-2"] = migration_payload("mig-2", status="pending", phase="pre_check")

    _first_sync(partner, hmac_client, pacer)

    assert Migration.objects.get(migration_id="mig-1").status == "completed"
    assert Migration.objects.get(migration_id="mig-2").status == "pending"


def test_a_newer_vm_state_from_a_webhook_survives_an_older_sync_page(partner, fleet, hmac_client, pacer):
    VM.objects.create(
        partner=partner,
        vm_id="vm-00004",
        name="web-00004",
        status="stopped",
        created_at=T0,
        updated_at=T0 + timedelta(days=1),
        synced_at=T0,
    )

    sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert VM.objects.get(vm_id="vm-00004").status == "stopped"


def test_partner_sync_updates_the_partner_and_upserts_its_quotas(partner, fake_novacron, hmac_client, pacer):
    Quota.objects.create(partner=partner, name="retired", limit=1, used=0, remaining=1, synced_at=T0)
    fake_novacron.quotas = [
        {"name": "api_calls_per_minute", "limit": 1000, "used": 12, "remaining": 988, "reset_at": iso(T0)},
        {"name": "vm_create_per_day", "limit": 200, "used": 200, "remaining": 0, "reset_at": iso(T0)},
        {"name": "migration_concurrent", "limit": 5, "used": 1, "remaining": 4, "reset_at": None},
    ]

    run = sync.sync_partner(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.SUCCEEDED and run.items == 3 and run.deleted == 1
    partner = Partner.objects.get(pk=partner.pk)
    assert partner.name == "Acme Corporation"
    assert partner.quota_limits["vm_create_per_day"] == 200
    assert partner.rate_limit_limit == 1000 and partner.rate_limit_remaining == 1400
    assert set(partner.quotas.values_list("name", flat=True)) == {
        "api_calls_per_minute",
        "vm_create_per_day",
        "migration_concurrent",
    }
    assert partner.quotas.get(name="vm_create_per_day").used == 200


def test_sync_now_runs_every_kind_for_one_partner(partner, fleet, hmac_client, monkeypatch):
    monkeypatch.setattr(sync, "open_session", _session_factory(hmac_client))
    out = StringIO()

    call_command("sync_now", "--full", "--partner", "partner-acme", stdout=out)

    assert "vms_full: succeeded, 1200 items" in out.getvalue()
    assert SyncRun.objects.filter(partner=partner, kind="partner", status="succeeded").exists()


def test_the_beat_schedule_runs_each_kind_of_sync():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["vms-sync-incremental"]["task"] == "vms.sync_all_vms_incremental"
    assert schedule["vms-sync-full"]["task"] == "vms.sync_all_vms_full"
    assert schedule["vms-sync-quotas"]["task"] == "vms.sync_all_partners"
    assert schedule["vms-sync-incremental"]["schedule"] < schedule["vms-sync-full"]["schedule"]


def _session_factory(client: Any):
    def open_session(partner: Any, *, client_: Any = None, **kwargs: Any) -> sync.SyncSession:
        clock = FakeClock()
        return sync.SyncSession(
            client=client, pacer=SyncPacer(limit_per_minute=1000, share=0.5, clock=clock, sleep=clock.sleep)
        )

    return lambda partner, **kwargs: open_session(partner, **kwargs)
