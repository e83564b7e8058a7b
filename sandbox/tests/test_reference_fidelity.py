"""The reference's names and types on the wire: data_sync, whole-number figures, fraction loads, success, cancelled."""

from __future__ import annotations

import pytest

from sandbox.core.models import VM, Cluster, Partner, PlatformEvent
from sandbox.core.serializers import migration_json
from sandbox.core.services.migrations import migration_advance, migration_cancel, migration_create
from sandbox.tests.conftest import PartnerClient, make_vm
from sandbox.tests.migration_clock import at, phase_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(acme: Partner, clusters: list[Cluster]) -> VM:
    return make_vm(acme, clusters[0], memory_gb=8, disk_size_gb=100)


def _events(kind: str) -> list[dict]:
    return list(
        PlatformEvent.objects.filter(event_type=kind).order_by("created_at").values_list("data", flat=True)
    )


def test_progress_is_a_whole_percent_and_loads_are_fractions(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    middle = (phase_start(migration, "data_sync") + phase_start(migration, "memory_precopy")) / 2
    migration = migration_advance(migration=migration, now=at(migration, middle))

    wire = migration_json(migration)
    assert wire["phase"] == "data_sync"
    assert type(wire["progress_percentage"]) is int and 0 < wire["progress_percentage"] < 100
    assert wire["progress_percentage"] == int(migration.progress_percentage)
    metrics = wire["metrics"]
    assert 0 < metrics["target_vm_load"] < metrics["source_vm_load"] <= 1.0


def test_completion_says_success_with_a_whole_number_of_seconds(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    migration = migration_advance(migration=migration, now=at(migration, migration.plan["end"] + 1))

    (completed,) = _events("migration.completed")
    assert completed["status"] == "success"
    assert type(completed["duration_seconds"]) is int and completed["duration_seconds"] > 0
    assert completed["progress_percentage"] == 100
    # The object itself keeps `completed`, which the reference's polling loop waits for.
    assert migration_json(migration)["status"] == "completed"
    assert all(event["status"] == "in_progress" for event in _events("migration.progress"))


def test_a_cancellation_sends_progress_then_cancelled(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    migration_cancel(migration=migration, now=at(migration, phase_start(migration, "data_sync") + 1))

    (cancelled,) = _events("migration.cancelled")
    # Beside the progress event that says cancelled, at the same moment, with the same object.
    (progress,) = [event for event in _events("migration.progress") if event["status"] == "cancelled"]
    assert progress == cancelled
    assert cancelled["status"] == "cancelled" and cancelled["phase"] == "data_sync"
    assert type(cancelled["duration_seconds"]) is int


def test_a_migration_cancelled_while_queued_ran_for_zero_seconds(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    migration_cancel(migration=migration, now=migration.created_at)

    (cancelled,) = _events("migration.cancelled")
    assert cancelled["started_at"] is None  # still queued: the engine never started it
    assert cancelled["duration_seconds"] == 0


def test_a_subscription_may_ask_for_migration_cancelled(acme_api: PartnerClient) -> None:
    response = acme_api.post(
        "/api/v1/partners/partner-acme/webhooks",
        {"url": "https://hooks.example.com/novacron", "events": ["migration.cancelled"],
         "secret": "a-secret-of-enough-length"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["events"] == ["migration.cancelled"]
