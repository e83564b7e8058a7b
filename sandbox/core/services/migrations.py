"""Migrations: accept (plan once), advance to the state the clock says, cancel before the point of no return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from sandbox.api.errors import Conflict, ValidationFailed
from sandbox.core.ids import new_id
from sandbox.core.models import VM, Cluster, Migration, Partner
from sandbox.core.selectors import vm_get
from sandbox.core.serializers import migration_event_data, vm_json
from sandbox.core.services.alerts import alert_raise
from sandbox.core.services.events import event_emit
from sandbox.core.services.history import state_changed
from sandbox.core.services.quotas import ACTIVE_MIGRATION_STATUSES, quota_require
from sandbox.engine.clock import metrics_on_wall_clock, real_delta, simulated_since
from sandbox.engine.counters import counters
from sandbox.engine.migration_plan import POINT_OF_NO_RETURN, QUEUE_SECONDS, build_plan, state_at

PROGRESS_EVENT_EVERY_SIMULATED_SECONDS = 2.0
FINISHED = ("completed", "failed", "cancelled")


def _cluster_json(cluster: Cluster) -> dict[str, Any]:
    return {
        "link_speed_mbps": cluster.link_speed_mbps,
        "cloud_provider": cluster.cloud_provider,
        "region": cluster.region,
    }


def migration_create(*, partner: Partner, spec: dict[str, Any], now: datetime | None = None) -> Migration:
    now = now or timezone.now()
    vm = vm_get(partner=partner, vm_id=spec["source_vm_id"])
    target = Cluster.objects.filter(cluster_id=spec["target_cluster"]).first()
    if target is None:
        raise ValidationFailed.on("target_cluster", f"unknown cluster {spec['target_cluster']}")
    if target.cluster_id == vm.cluster_id:
        raise ValidationFailed.on("target_cluster", "is the VM's current cluster")
    if vm.status not in ("running", "stopped"):
        raise Conflict(f"A {vm.status} VM cannot be migrated.", details={"status": vm.status})
    quota_require(partner=partner, name="migration_concurrent")
    options = {
        "verify_after_migration": True,
        **{k: v for k, v in (spec.get("options") or {}).items() if v is not None},
    }
    migration_id = new_id("mig-", 8)
    plan = build_plan(
        migration_id=migration_id,
        vm={"vm_id": vm.vm_id, "memory_gb": vm.memory_gb, "disk_size_gb": vm.disk_size_gb, "tags": vm.tags},
        source=_cluster_json(vm.cluster),
        target=_cluster_json(target),
        migration_type=spec.get("migration_type", "live"),
        verify=bool(options["verify_after_migration"]),
    )
    with transaction.atomic():
        # The status guard in the update makes two concurrent starts for one VM yield one migration.
        if not VM.objects.filter(pk=vm.pk, status__in=("running", "stopped")).update(
            status="migrating", updated_at=now
        ):
            raise Conflict("The VM is already migrating.")
        migration = Migration.objects.create(
            migration_id=migration_id, partner=partner, vm=vm, source_cluster_id=vm.cluster_id,
            target_cluster=target, migration_type=spec.get("migration_type", "live"), options=options,
            bytes_total=plan["bytes_total"], plan=plan, vm_prior_status=vm.status, created_at=now,
            updated_at=now, estimated_completion=now + real_delta(plan["end"]),
        )  # fmt: skip
        vm.status, vm.updated_at = "migrating", now
        state_changed(vm, at=now)
    counters.migrations_active(
        partner.partner_id,
        Migration.objects.filter(partner=partner, status__in=ACTIVE_MIGRATION_STATUSES).count(),
    )
    return migration


def _apply_state(migration: Migration, state: dict[str, Any], now: datetime) -> None:
    """The plan's state (simulated seconds) onto the row, every figure on the wall clock."""
    migration.status = state["status"]
    migration.phase = state["phase"]
    migration.progress_percentage = state["progress_percentage"]
    migration.bytes_transferred = state["bytes_transferred"]
    migration.metrics = metrics_on_wall_clock(state["metrics"])
    migration.updated_at = now
    if state["status"] != "pending" and migration.started_at is None:
        migration.started_at = migration.created_at + real_delta(QUEUE_SECONDS)
    if state["status"] in ("pending", "in_progress"):
        migration.estimated_completion = now + real_delta(state["remaining_seconds"])
    else:
        migration.estimated_completion = None
        migration.finished_at = migration.created_at + real_delta(state["finished_seconds"])


def _passed_phases(migration: Migration, state: dict[str, Any]) -> list[list[Any]]:
    """Phases the plan went through since the last step without the row ever showing them.

    A phase can be shorter than one engine step (switchover takes about a simulated second); each one
    passed over still gets its own status, so a partner sees every phase the migration went through.
    """
    phases: list[list[Any]] = migration.plan["phases"]
    names = [phase[0] for phase in phases]
    if state["status"] == "pending":
        return []
    shown = -1 if migration.status == "pending" else names.index(migration.phase)
    reached = len(names) if state["status"] == "completed" else names.index(state["phase"])
    return phases[shown + 1 : reached]


@transaction.atomic
def migration_advance(*, migration: Migration, now: datetime | None = None) -> Migration:
    """Brings a migration to the state its plan gives for now, with the events and VM changes that go along."""
    now = now or timezone.now()
    migration = Migration.objects.select_for_update().select_related("vm").get(pk=migration.pk)
    if migration.status in FINISHED:
        return migration
    elapsed = simulated_since(migration.created_at, now)
    state = state_at(migration.plan, elapsed)
    before_status, before_phase = migration.status, migration.phase
    # Each phase passed over, as it was halfway through, stamped with that moment on the wall clock.
    passed: list[tuple[datetime, dict[str, Any]]] = []
    for _name, start, end in _passed_phases(migration, state):
        moment = migration.created_at + real_delta((start + end) / 2)
        _apply_state(migration, state_at(migration.plan, (start + end) / 2), moment)
        passed.append((moment, migration_event_data(migration)))
    _apply_state(migration, state, now)
    migration.save()
    if before_status == "pending" and state["status"] != "pending":
        started_at, started = passed[0] if passed else (now, migration_event_data(migration))
        _emit_data(migration, "migration.started", started, started_at)
    for moment, data in passed:
        _emit_data(migration, "migration.progress", data, moment)
    if state["status"] == "completed":
        _land_vm(migration, now)
        _emit(migration, "migration.completed", now)
    elif state["status"] == "failed":
        migration.error = migration.plan.get("error", "migration failed")
        migration.save(update_fields=["error"])
        _restore_vm(migration, now)
        _emit(migration, "migration.failed", now)
        alert_raise(
            partner_id=migration.partner_id, resource_type="migration", resource_id=migration.migration_id,
            metric="migration_status", value=1.0, threshold=0.0, message=migration.error, now=now,
        )  # fmt: skip
    elif state["status"] == "in_progress" and (
        state["phase"] != before_phase
        or before_status == "pending"
        or elapsed - migration.last_progress_event_at >= PROGRESS_EVENT_EVERY_SIMULATED_SECONDS
    ):
        migration.last_progress_event_at = elapsed
        migration.save(update_fields=["last_progress_event_at"])
        _emit(migration, "migration.progress", now)
    return migration


@transaction.atomic
def migration_cancel(*, migration: Migration, now: datetime | None = None) -> Migration:
    now = now or timezone.now()
    migration = migration_advance(migration=migration, now=now)
    if migration.status in FINISHED:
        raise Conflict(f"The migration is already {migration.status}.", details={"status": migration.status})
    order = [p[0] for p in migration.plan["phases"]]
    if order.index(migration.phase) >= order.index(POINT_OF_NO_RETURN[migration.migration_type]):
        raise Conflict(
            f"Too late to cancel: the migration is in {migration.phase}.", details={"phase": migration.phase}
        )
    migration.status = "cancelled"
    migration.finished_at = now
    migration.estimated_completion = None
    migration.metrics = {**migration.metrics, "transfer_rate_mbps": 0.0}
    migration.updated_at = now
    migration.save()
    _restore_vm(migration, now)
    # The progress event as before, then the contract's extension: the reference has no event that
    # tells a subscriber a migration ended without completing or failing.
    _emit(migration, "migration.progress", now)
    _emit(migration, "migration.cancelled", now)
    return migration


def _emit(migration: Migration, event_type: str, now: datetime) -> None:
    _emit_data(migration, event_type, migration_event_data(migration, event_type=event_type), now)


def _emit_data(migration: Migration, event_type: str, data: dict[str, Any], at: datetime) -> None:
    event_emit(partner=migration.partner_id, event_type=event_type, data=data, now=at)


def _restore_vm(migration: Migration, now: datetime) -> None:
    if VM.objects.filter(pk=migration.vm_id, status="migrating").update(
        status=migration.vm_prior_status, updated_at=now
    ):
        state_changed(VM.objects.get(pk=migration.vm_id), at=now)


def _land_vm(migration: Migration, now: datetime) -> None:
    target = migration.target_cluster
    vm = migration.vm
    vm.cluster, vm.region, vm.cloud_provider = target, target.region, target.cloud_provider
    vm.status, vm.updated_at = migration.vm_prior_status, now
    vm.save(update_fields=["cluster", "region", "cloud_provider", "status", "updated_at"])
    state_changed(vm, at=now)
    if migration.migration_type == "cold" and vm.status == "running":
        # A cold migration shut the VM down and booted it again on the target.
        event_emit(partner=vm.partner_id, event_type="vm.started", data=vm_json(vm), now=now)


def migrations_advance_all(*, now: datetime | None = None) -> int:
    active = list(Migration.objects.filter(status__in=("pending", "in_progress")).only("pk"))
    for migration in active:
        migration_advance(migration=migration, now=now)
    return len(active)
