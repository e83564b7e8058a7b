from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from novacron import VM, MigrationStatus, Page, RateLimitInfo, VMSpec, WebhookEvent
from sdk_support import MIGRATION_JSON, VM_JSON


def test_unknown_fields_from_the_server_are_ignored() -> None:
    vm = VM.from_dict({**VM_JSON, "gpu_count": 2})

    assert vm.vm_id == "vm-1"
    assert "gpu_count" not in vm.to_dict()


def test_timestamps_become_aware_datetimes_whatever_the_offset_spelling() -> None:
    vm = VM.from_dict(
        {**VM_JSON, "created_at": "2026-01-15T12:30:00+02:00", "updated_at": "2026-01-15T10:30:00"}
    )

    assert vm.created_at == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert vm.created_at is not None and vm.created_at.utcoffset() == timedelta(hours=2)
    assert vm.updated_at is not None and vm.updated_at.tzinfo is not None


def test_to_dict_round_trips_through_from_dict() -> None:
    migration = MigrationStatus.from_dict(MIGRATION_JSON)

    again = MigrationStatus.from_dict(migration.to_dict())

    assert again == migration
    assert migration.to_dict()["estimated_completion"] == "2026-01-15T10:30:00Z"


def test_to_dict_writes_utc_with_a_z() -> None:
    event = WebhookEvent(
        event_id="evt_1",
        event_type="vm.created",
        timestamp=datetime(2026, 1, 15, 12, tzinfo=timezone(timedelta(hours=2))),
    )

    assert event.to_dict()["timestamp"] == "2026-01-15T10:00:00Z"


def test_a_vm_spec_omits_an_unchosen_cluster() -> None:
    spec = VMSpec(
        name="n",
        template="debian-12",
        cpu_cores=1,
        memory_gb=1,
        disk_size_gb=10,
        network_id="net-1",
        cloud_provider="gcp",
        region="europe-west1",
    )

    assert "cluster" not in spec._to_body()
    assert spec.to_dict()["cluster"] is None


def test_a_page_serialises_to_the_contract_envelope() -> None:
    page = Page.from_dict(
        {"data": [VM_JSON], "page": 2, "limit": 1, "total": 3, "has_more": True}, VM.from_dict
    )

    assert page.to_dict() == {
        "data": [VM.from_dict(VM_JSON).to_dict()],
        "page": 2,
        "limit": 1,
        "total": 3,
        "has_more": True,
    }
    assert len(page) == 1
    assert page.next_page() is None  # a page built without a fetcher cannot fetch


def test_rate_limit_info_reads_the_headers() -> None:
    info = RateLimitInfo.from_headers(
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "1767225600"}
    )

    assert info == RateLimitInfo(limit=100, remaining=7, reset=datetime(2026, 1, 1, tzinfo=UTC))
    assert RateLimitInfo.from_headers({}) is None
