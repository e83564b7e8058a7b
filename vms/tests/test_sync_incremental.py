"""The incremental VM sync at scale: what it reads, what it leaves alone, what it removes, the order
it copes with, and the full run that takes its place when NovaCron lacks `updated_since`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from django.utils.dateparse import parse_datetime

from live.models import Event
from tests.fakes import T0, FakeNovaCron, cluster_payload, error_body, iso
from vms import cache, sync
from vms.models import VM, SyncRun
from vms.topics import FLEET_TOPIC

pytestmark = pytest.mark.django_db

FLEET = 1200  # three pages of sync.PAGE_SIZE


@pytest.fixture
def fleet(fake_novacron: FakeNovaCron) -> FakeNovaCron:
    fake_novacron.add_vms(FLEET)
    fake_novacron.clusters = [cluster_payload("cl-aws-use1-a", "aws", "us-east-1")]
    return fake_novacron


def _synced(partner: Any, client: Any, pacer: Any) -> SyncRun:
    run = sync.sync_vms_incremental(partner=partner, client=client, pacer=pacer)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def _vm_requests(fake: FakeNovaCron) -> list[dict[str, str]]:
    return [dict(parse_qsl(urlsplit(url).query)) for url in fake.requests if "/vms?" in url]


def _change(fake: FakeNovaCron, vm_id: str, at: Any, **fields: Any) -> None:
    fake.vms[vm_id].update(updated_at=iso(at), **fields)


def test_it_reads_only_the_changed_vms_in_a_few_calls(partner, fleet, hmac_client, pacer):
    _synced(partner, hmac_client, pacer)
    later = T0 + timedelta(hours=1)
    changed = [f"vm-{n:05d}" for n in range(1, FLEET, 100)]  # 12 VMs, 1% of the fleet
    for vm_id in changed:
        _change(fleet, vm_id, later, status="stopped")
    fleet.requests.clear()

    run = _synced(partner, hmac_client, pacer)

    assert run.kind == SyncRun.Kind.VMS_INCREMENTAL
    assert [query["page"] for query in _vm_requests(fleet)] == ["1"]
    # The changed VMs, and the few of the last WATERMARK_OVERLAP before the watermark, read again.
    assert run.items == len(changed) + int(sync.WATERMARK_OVERLAP.total_seconds()) + 1
    assert set(VM.objects.filter(status="stopped").values_list("vm_id", flat=True)) == set(changed)
    # One page of VMs beside the fixed calls (clusters, active and recent migrations), against the
    # full run's three pages.
    assert len(fleet.requests) == 5
    assert run.watermark == later


def test_an_unchanged_fleet_writes_nothing_and_keeps_the_watermark(partner, fleet, hmac_client, pacer):
    full = _synced(partner, hmac_client, pacer)
    before = dict(VM.objects.values_list("vm_id", "updated_at"))

    run = _synced(partner, hmac_client, pacer)

    assert run.deleted == 0
    assert run.watermark == full.watermark
    assert dict(VM.objects.values_list("vm_id", "updated_at")) == before
    assert VM.objects.count() == FLEET


def test_a_vm_deleted_since_the_watermark_is_removed_by_its_tombstone(partner, fleet, hmac_client, pacer):
    _synced(partner, hmac_client, pacer)
    gone = T0 + timedelta(hours=1)
    _change(fleet, "vm-00500", gone, status="deleted", deleted_at=iso(gone))

    run = _synced(partner, hmac_client, pacer)

    assert run.deleted == 1
    assert not VM.objects.filter(vm_id="vm-00500").exists()
    assert VM.objects.count() == FLEET - 1


def test_a_deletion_no_incremental_run_saw_is_swept_by_the_full_reconciliation(
    partner, fleet, hmac_client, pacer
):
    _synced(partner, hmac_client, pacer)
    del fleet.vms["vm-00042"]  # gone without a tombstone (e.g. purged before the portal looked)

    assert _synced(partner, hmac_client, pacer).deleted == 0
    assert VM.objects.filter(vm_id="vm-00042").exists()
    full = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert full.deleted == 1
    assert not VM.objects.filter(vm_id="vm-00042").exists()


def test_an_older_version_in_an_incremental_page_never_replaces_a_newer_cached_one(
    partner, fleet, hmac_client, pacer
):
    _synced(partner, hmac_client, pacer)
    page_at, webhook_at = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    _change(fleet, "vm-00010", page_at, status="stopped")
    # A webhook brought a later state before the sync's page (read earlier by NovaCron) is stored.
    cache.store_vm(
        partner=partner, vm={**fleet.vms["vm-00010"], "status": "running", "updated_at": iso(webhook_at)}
    )

    run = _synced(partner, hmac_client, pacer)

    row = VM.objects.get(vm_id="vm-00010")
    assert (row.status, row.updated_at) == ("running", webhook_at)
    assert run.watermark == page_at


def test_a_tombstone_older_than_a_reused_id_leaves_the_new_vm(partner, fleet, hmac_client, pacer):
    _synced(partner, hmac_client, pacer)
    deleted_at, recreated_at = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    _change(fleet, "vm-00011", deleted_at, status="deleted", deleted_at=iso(deleted_at))
    cache.store_vm(partner=partner, vm={**fleet.vms["vm-00011"], "status": "running", "deleted_at": None,
                                        "updated_at": iso(recreated_at)})  # fmt: skip

    run = _synced(partner, hmac_client, pacer)

    assert run.deleted == 0
    assert VM.objects.get(vm_id="vm-00011").updated_at == recreated_at


def test_changes_stored_out_of_order_across_runs_end_in_novacrons_latest_state(
    partner, fleet, hmac_client, pacer
):
    _synced(partner, hmac_client, pacer)
    first, second = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    _change(fleet, "vm-00020", second, status="stopped")
    _synced(partner, hmac_client, pacer)
    # The older event arrives after the sync already stored the later state.
    cache.store_vm(
        partner=partner, vm={**fleet.vms["vm-00020"], "status": "running", "updated_at": iso(first)}
    )

    assert VM.objects.get(vm_id="vm-00020").status == "stopped"


def test_the_next_page_is_fetched_while_this_one_is_stored_never_further_ahead(
    partner, fleet, hmac_client, pacer, monkeypatch
):
    requested: list[int] = []
    fleet.on_vm_page = requested.append
    ahead: list[int] = []
    store = cache.store_vms

    def storing(**kwargs: Any) -> Any:
        ahead.append(len(requested) - (len(ahead) + 1))
        return store(**kwargs)

    monkeypatch.setattr(sync, "store_vms", storing)

    _synced(partner, hmac_client, pacer)

    assert requested == [1, 2, 3]
    assert max(ahead) <= 1  # at most the page being stored and the one arriving are held


@pytest.mark.django_db(transaction=True)
def test_a_full_run_publishes_the_fleet_counts_once_not_per_page(partner, fleet, hmac_client, pacer):
    run = sync.sync_vms_full(partner=partner, client=hmac_client, pacer=pacer)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Event.objects.filter(partner=partner, topic=FLEET_TOPIC).count() == 1
    assert str(FLEET) in Event.objects.get(partner=partner, topic=FLEET_TOPIC).html


# --- NovaCron without the updated_since extension -----------------------------------------------


@dataclass
class NovaCronWithoutUpdatedSince(FakeNovaCron):
    """A NovaCron of the reference: it knows nothing of `updated_since` and drops it."""

    def _list_vms(self, request: Any) -> tuple[int, dict, str]:
        parts = urlsplit(request.url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "updated_since"]
        request.url = urlunsplit(parts._replace(query=urlencode(query)))
        return super()._list_vms(request)


@pytest.fixture
def reference_fleet(mocked_api: Any) -> NovaCronWithoutUpdatedSince:
    fake = NovaCronWithoutUpdatedSince()
    fake.install(mocked_api)
    fake.add_vms(FLEET)
    return fake


def test_a_novacron_that_ignores_updated_since_gets_a_full_run_instead(
    partner, reference_fleet, hmac_client, pacer
):
    _synced(partner, hmac_client, pacer)
    del reference_fleet.vms["vm-00077"]  # a reference NovaCron lists no tombstones
    _change(reference_fleet, "vm-00078", T0 + timedelta(hours=1), status="stopped")

    run = sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer)

    assert run.kind == SyncRun.Kind.VMS_FULL and run.status == SyncRun.Status.SUCCEEDED, run.error
    failed = SyncRun.objects.get(kind=SyncRun.Kind.VMS_INCREMENTAL)
    assert failed.status == SyncRun.Status.FAILED and "updated_since" in failed.error
    assert failed.watermark is None  # the next incremental starts from the full run's watermark
    assert not VM.objects.filter(vm_id="vm-00077").exists()
    assert VM.objects.get(vm_id="vm-00078").status == "stopped"
    assert sync.last_watermark(partner) == parse_datetime(reference_fleet.vms["vm-00078"]["updated_at"])


def test_a_novacron_that_refuses_updated_since_gets_a_full_run_instead(partner, fleet, hmac_client, pacer):
    _synced(partner, hmac_client, pacer)
    refusal = error_body("validation_error", "Unknown parameter.", fields={"updated_since": ["unknown"]})
    fleet.scripted = [(200, '{"data": []}', {}), (400, refusal, {})]  # clusters, then the first page

    run = sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer)

    assert run.kind == SyncRun.Kind.VMS_FULL and run.status == SyncRun.Status.SUCCEEDED, run.error
    assert "refused updated_since" in SyncRun.objects.get(kind=SyncRun.Kind.VMS_INCREMENTAL).error
    assert VM.objects.count() == FLEET


def test_another_validation_error_is_a_failed_run_not_a_full_one(partner, fleet, hmac_client, pacer):
    _synced(partner, hmac_client, pacer)
    refusal = error_body("validation_error", "Bad limit.", fields={"limit": ["too large"]})
    fleet.scripted = [(200, '{"data": []}', {}), (400, refusal, {})]

    run = sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer)

    assert run.kind == SyncRun.Kind.VMS_INCREMENTAL and run.status == SyncRun.Status.FAILED
    assert SyncRun.objects.filter(kind=SyncRun.Kind.VMS_FULL).count() == 1
