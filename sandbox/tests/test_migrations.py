"""The migration engine under a controlled clock: phases, figures, cancel, failure, concurrency."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from sandbox.core.models import VM, Cluster, Migration, Partner, PlatformEvent
from sandbox.core.services.migrations import migration_advance, migration_cancel, migration_create
from sandbox.engine.migration_plan import build_plan, state_at
from sandbox.engine.runner import engine_step
from sandbox.tests.conftest import PartnerClient, make_vm
from sandbox.tests.migration_clock import SCALE, at, phase_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(acme: Partner, clusters: list[Cluster]) -> VM:
    return make_vm(acme, clusters[0], memory_gb=8, disk_size_gb=100)


def test_a_live_migration_walks_every_phase_and_lands_on_the_target(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    assert migration.status == "pending" and VM.objects.get(pk=vm.pk).status == "migrating"
    seen = []
    midpoints = [(start + end) / 2 for _name, start, end in migration.plan["phases"]]
    samples = sorted([*midpoints, *range(0, int(migration.plan["end"]), 7), migration.plan["end"] + 1])
    for second in samples:
        migration = migration_advance(migration=migration, now=at(migration, second))
        if not seen or seen[-1] != migration.phase:
            seen.append(migration.phase)
    assert seen == ["pre_check", "data_sync", "memory_precopy", "switchover", "verification", "completed"]
    assert migration.status == "completed" and migration.progress_percentage == 100.0
    assert migration.bytes_transferred == migration.bytes_total == migration.plan["bytes_total"]
    assert 0 < migration.metrics["downtime_ms"] < 1000
    landed = VM.objects.get(pk=vm.pk)
    assert (landed.status, landed.cluster_id, landed.region) == ("running", "cl-aws-usw2-a", "us-west-2")
    kinds = list(
        PlatformEvent.objects.filter(event_type__startswith="migration.").values_list("event_type", flat=True)
    )
    assert kinds[0] == "migration.started" and kinds[-1] == "migration.completed"
    assert kinds.count("migration.progress") >= 4


def test_figures_are_believable_during_data_sync(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    middle = (phase_start(migration, "data_sync") + phase_start(migration, "memory_precopy")) / 2
    migration = migration_advance(migration=migration, now=at(migration, middle))
    link = 10000 * 0.25 * SCALE  # cross-region within one cloud, moved SCALE times faster than real time
    assert migration.phase == "data_sync"
    assert 0.7 * link < migration.metrics["transfer_rate_mbps"] < 1.3 * link
    assert 0 < migration.bytes_transferred < migration.bytes_total
    assert migration.bytes_total >= 8 * 1024**3 + 25 * 1024**3
    assert migration.metrics["source_vm_load"] > migration.metrics["target_vm_load"] > 0
    remaining = (migration.estimated_completion - at(migration, middle)).total_seconds() * SCALE
    assert remaining == pytest.approx(migration.plan["end"] - middle, rel=0.01)


def test_a_dirty_vm_needs_more_rounds_and_more_downtime() -> None:
    clusters = {"link_speed_mbps": 10000, "cloud_provider": "aws", "region": "us-east-1"}
    target = {**clusters, "region": "us-west-2"}
    quiet = build_plan(migration_id="mig-a", vm={"vm_id": "vm-a", "memory_gb": 16, "disk_size_gb": 50, "tags": {}},
                       source=clusters, target=target, migration_type="live")  # fmt: skip
    dirty = build_plan(migration_id="mig-a", vm={"vm_id": "vm-a", "memory_gb": 16, "disk_size_gb": 50,
                                                 "tags": {"sandbox.dirty": "high"}},
                       source=clusters, target=target, migration_type="live")  # fmt: skip
    assert len(dirty["rounds"]) > len(quiet["rounds"])
    assert dirty["downtime_ms"] > 5 * quiet["downtime_ms"]
    assert dirty["end"] > quiet["end"]


def test_the_same_plan_gives_the_same_state() -> None:
    place = {"link_speed_mbps": 10000, "cloud_provider": "aws", "region": "us-east-1"}
    plan = build_plan(migration_id="mig-x", vm={"vm_id": "vm-x", "memory_gb": 4, "disk_size_gb": 40, "tags": {}},
                      source=place, target={**place, "cloud_provider": "gcp"}, migration_type="cold")  # fmt: skip
    assert [p[0] for p in plan["phases"]] == ["pre_check", "shutdown", "data_sync", "boot", "verification"]
    assert state_at(plan, 100.0) == state_at(plan, 100.0)


def test_it_cancels_before_switchover_but_not_after(acme: Partner, vm: VM, clusters: list[Cluster]) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    cancelled = migration_cancel(
        migration=migration, now=at(migration, phase_start(migration, "data_sync") + 1)
    )
    assert (cancelled.status, cancelled.phase) == ("cancelled", "data_sync")
    assert (
        VM.objects.get(pk=vm.pk).status == "running"
        and VM.objects.get(pk=vm.pk).cluster_id == clusters[0].cluster_id
    )
    again = migration_create(partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"})
    with pytest.raises(Exception, match="Too late"):
        migration_cancel(migration=again, now=at(again, phase_start(again, "switchover") + 0.1))


def test_a_vm_tagged_to_fail_fails_in_data_sync_and_raises_an_alert(
    acme: Partner, clusters: list[Cluster]
) -> None:
    vm = make_vm(acme, clusters[0], status="stopped", tags={"sandbox.fail": "migration"})
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    migration = migration_advance(migration=migration, now=at(migration, migration.plan["end"]))
    assert (migration.status, migration.phase) == ("failed", "data_sync")
    assert "data_sync failed" in migration.error and migration.finished_at is not None
    assert VM.objects.get(pk=vm.pk).status == "stopped"
    assert PlatformEvent.objects.filter(event_type="migration.failed").exists()
    alert = PlatformEvent.objects.get(event_type="alert.critical")
    assert alert.data["resource_id"] == migration.migration_id and alert.data["severity"] == "critical"


def test_the_api_enforces_states_targets_and_the_concurrency_quota(acme_api: PartnerClient, acme: Partner,
                                                                   clusters: list[Cluster]) -> None:  # fmt: skip
    acme.quota_limits = {**acme.quota_limits, "migration_concurrent": 1}
    acme.save()
    first, second = make_vm(acme, clusters[0]), make_vm(acme, clusters[0])
    spec = {"source_vm_id": first.vm_id, "target_cluster": "cl-aws-use1-b", "migration_type": "live"}
    assert acme_api.post("/api/v1/migrations", {**spec, "target_cluster": "cl-aws-use1-a"}).status_code == 400
    assert acme_api.post("/api/v1/migrations", {**spec, "target_cluster": "cl-nowhere"}).status_code == 400
    created = acme_api.post("/api/v1/migrations", spec)
    assert created.status_code == 201 and created.json()["migration_id"].startswith("mig-")
    assert acme_api.post("/api/v1/migrations", spec).status_code == 409
    over = acme_api.post("/api/v1/migrations", {**spec, "source_vm_id": second.vm_id})
    assert over.status_code == 403 and over.json()["error"]["details"]["quota"] == "migration_concurrent"
    assert acme_api.delete(f"/api/v1/vms/{first.vm_id}").status_code == 409
    mid = created.json()["migration_id"]
    assert acme_api.get("/api/v1/migrations", vm_id=first.vm_id).json()["total"] == 1
    assert acme_api.get(f"/api/v1/migrations/{mid}").json()["target_cluster"] == "cl-aws-use1-b"
    assert acme_api.post(f"/api/v1/migrations/{mid}/cancel").json()["status"] == "cancelled"
    assert acme_api.post(f"/api/v1/migrations/{mid}/cancel").status_code == 409


def test_the_migration_started_event_carries_the_target(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    migration_advance(migration=migration, now=timezone.now() + timedelta(seconds=1))
    started = PlatformEvent.objects.get(event_type="migration.started")
    assert started.data["target_cluster_id"] == "cl-aws-usw2-a" and started.data["status"] == "in_progress"


def _run_with_the_engine(migration: Migration, *, step_seconds: float = 1.0) -> list[Migration]:
    """Steps the engine every `step_seconds` (real) until the migration finishes; the row after each step."""
    rows, moment = [], migration.created_at
    while migration.status not in ("completed", "failed", "cancelled"):
        moment += timedelta(seconds=step_seconds)
        engine_step(now=moment, scan_alerts=False)
        migration = Migration.objects.get(pk=migration.pk)
        rows.append(migration)
    return rows


def _event_phases(migration: Migration) -> list[str]:
    events = PlatformEvent.objects.filter(
        event_type__startswith="migration.", data__migration_id=migration.migration_id
    )
    return [event.data["phase"] if event.data["status"] != "completed" else "completed" for event in events]


@pytest.mark.parametrize("migration_type", ["live", "cold"])
def test_every_phase_is_reported_even_one_shorter_than_an_engine_step(
    acme: Partner, vm: VM, migration_type: str
) -> None:
    migration = migration_create(partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a",
                                                     "migration_type": migration_type})  # fmt: skip
    names = [p[0] for p in migration.plan["phases"]]
    short = [name for name, start, end in migration.plan["phases"] if end - start < SCALE]
    assert migration_type == "cold" or "switchover" in short  # shorter than one step: easy to skip
    rows = _run_with_the_engine(migration)
    phases = _event_phases(migration)
    assert rows[-1].status == "completed"
    # Every phase, in order, each at least once.
    assert list(dict.fromkeys(phases)) == [*names, "completed"]
    # What was reported only moves forwards in time.
    stamps = [e.data["updated_at"] for e in PlatformEvent.objects.filter(event_type__startswith="migration.")]
    assert stamps == sorted(stamps)


def test_rates_stamps_and_the_estimate_are_on_one_clock(acme: Partner, vm: VM) -> None:
    migration = migration_create(
        partner=acme, spec={"source_vm_id": vm.vm_id, "target_cluster": "cl-aws-usw2-a"}
    )
    rows = _run_with_the_engine(migration)
    finished = rows[-1]
    assert finished.finished_at is not None and finished.started_at is not None
    for row in rows[:-1]:
        # The estimate is the moment it then finishes, on the same clock as finished_at.
        assert abs((row.estimated_completion - finished.finished_at).total_seconds()) < 0.01
    syncing = [row for row in rows if row.phase == "data_sync"]
    for before, after in pairwise(syncing):
        measured_mbps = (
            (after.bytes_transferred - before.bytes_transferred)
            * 8
            / 1e6
            / (after.updated_at - before.updated_at).total_seconds()
        )
        reported = (before.metrics["transfer_rate_mbps"] + after.metrics["transfer_rate_mbps"]) / 2
        assert measured_mbps == pytest.approx(reported, rel=0.25)
    duration = (finished.finished_at - finished.started_at).total_seconds()
    peak = max(row.metrics["transfer_rate_mbps"] for row in rows)
    # Bytes over the wall-clock duration is an average of the rates reported, idle phases included.
    assert 0.3 * peak < finished.bytes_total * 8 / 1e6 / duration < peak
