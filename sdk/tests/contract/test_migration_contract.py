from __future__ import annotations

import time

import pytest
from novacron import VM, Client, Cluster, ConflictError, MigrationSpec, ValidationError

pytestmark = pytest.mark.integration


def movable_vm(client: Client, clusters: list[Cluster], *, biggest: bool = False) -> tuple[VM, Cluster]:
    """A running VM not already migrating, and another cluster in its cloud and region to move it to."""
    busy = {m.source_vm_id for m in client.list_migrations(status="in_progress", limit=500)}
    busy |= {m.source_vm_id for m in client.list_migrations(status="pending", limit=500)}
    candidates = [vm for vm in client.list_vms(status="running", limit=500).data if vm.vm_id not in busy]
    candidates.sort(key=lambda vm: vm.memory_gb + vm.disk_size_gb, reverse=biggest)
    for vm in candidates:
        targets = [
            c
            for c in clusters
            if c.cluster_id != vm.cluster and c.cloud_provider == vm.cloud_provider and c.region == vm.region
        ]
        if targets:
            return vm, targets[0]
    pytest.fail("no running VM has a second cluster in its region")


def test_a_live_migration_is_followed_to_completion(acme: Client) -> None:
    vm, target = movable_vm(acme, acme.list_clusters())

    result = acme.start_migration(
        MigrationSpec(
            source_vm_id=vm.vm_id,
            target_cluster=target.cluster_id,
            migration_type="live",
            options={"verify_after_migration": True},
        )
    )
    seen_phases = [result.phase]
    deadline = time.monotonic() + 120
    status = result
    while not status.is_finished:
        assert time.monotonic() < deadline, f"migration still {status.status}/{status.phase}"
        time.sleep(0.3)
        status = acme.get_migration_status(result.migration_id)
        if status.phase != seen_phases[-1]:
            seen_phases.append(status.phase)

    assert status.status == "completed", status.error
    assert status.progress_percentage == pytest.approx(100.0)
    assert status.finished_at is not None and status.started_at is not None
    assert status.bytes_transferred >= status.bytes_total > 0
    assert seen_phases[-1] == "completed"
    assert acme.get_vm(vm.vm_id).cluster == target.cluster_id
    listed = acme.list_migrations(vm_id=vm.vm_id, limit=10).data
    assert result.migration_id in {m.migration_id for m in listed}


def test_a_migration_is_cancelled_before_switchover(acme: Client) -> None:
    vm, target = movable_vm(acme, acme.list_clusters(), biggest=True)
    started = acme.start_migration(
        MigrationSpec(source_vm_id=vm.vm_id, target_cluster=target.cluster_id, migration_type="cold")
    )

    cancelled = acme.cancel_migration(started.migration_id)

    assert cancelled.status == "cancelled"
    assert cancelled.is_finished
    with pytest.raises(ConflictError):
        acme.cancel_migration(started.migration_id)


def test_migrating_to_the_current_cluster_is_refused(acme: Client) -> None:
    vm, _ = movable_vm(acme, acme.list_clusters())

    with pytest.raises(ValidationError):
        acme.start_migration(
            {"source_vm_id": vm.vm_id, "target_cluster": vm.cluster, "migration_type": "live"}
        )
