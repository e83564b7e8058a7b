"""Writing NovaCron's answers and events into the local cache: the one owner of VM, cluster and migration rows.

Every write of these rows comes through here: the sync (bulk), webhooks and polls, and the portal's own
actions (one row at a time). Every change is published from here too (`vms.publishing`, after commit), so
open pages follow whoever made it. One mapping per row type turns NovaCron's object into the row (a webhook's
`data` is the same object on the wire and is read into the same SDK model), and one ordering rule
(`vms.freshness`) keeps an answer from replacing a newer row: a webhook or an action may have stored a
fresher state while a sync page was in flight, and events arrive out of order and more than once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone
from novacron.models import VM as ApiVM
from novacron.models import Cluster as ApiCluster
from novacron.models import MigrationStatus as ApiMigration

from lib.bulk import insert_many
from partners.models import Partner
from vms import intervals, publishing
from vms.freshness import VMVersion, migration_is_newer, vm_is_newer
from vms.models import VM, Cluster, Migration, VMTombstone

# Enough samples for the panel's rate chart and a smoothed ETA, small enough to rewrite on each event.
RATE_HISTORY_LIMIT = 60

# What a VM row shows of NovaCron's VM: compared when two versions carry the same `updated_at`.
VM_CONTENT_FIELDS = [
    "name",
    "status",
    "template",
    "cpu_cores",
    "memory_gb",
    "disk_size_gb",
    "network_id",
    "cloud_provider",
    "region",
    "cluster",
    "ip_address",
    "tags",
]
VM_UPDATE_FIELDS = [*VM_CONTENT_FIELDS, "created_at", "updated_at", "synced_at"]

MIGRATION_UPDATE_FIELDS = [
    "source_vm_id",
    "vm_name",
    "source_cluster",
    "target_cluster",
    "migration_type",
    "status",
    "phase",
    "progress_percentage",
    "bytes_transferred",
    "bytes_total",
    "estimated_completion",
    "started_at",
    "finished_at",
    "error",
    "options",
    "metrics",
    "rate_history",
    "created_at",
    "updated_at",
    "synced_at",
]


@dataclass
class StoreResult:
    # Rows that now show NovaCron's answer: written, or already holding that very version.
    stored: int = 0
    deleted: int = 0
    latest_update: datetime | None = None


class VMStored(NamedTuple):
    vm: VM | None  # the row as now cached; None when there is none
    changed: bool
    removed: VM | None = None  # the row a tombstone removed (status "deleted", no longer saved)


class MigrationStored(NamedTuple):
    migration: Migration
    changed: bool
    vms: list[VM]  # VMs whose cached state followed the migration


# --- mapping: NovaCron's objects into rows ------------------------------------------------------


def as_api_vm(vm: ApiVM | Mapping[str, Any]) -> ApiVM:
    return vm if isinstance(vm, ApiVM) else ApiVM.from_dict(vm)


# Words of the wire that the cache stores as another: a `migration.completed` event's data says
# `success` (the reference's payload) where the Migration object says `completed`; `disk_sync` is the
# bulk-copy phase's name before the contract took the reference's `data_sync` (stored events, old peers).
MIGRATION_STATUS_ON_INGEST = {"success": "completed"}
MIGRATION_PHASE_ON_INGEST = {"disk_sync": "data_sync"}


def as_api_migration(migration: ApiMigration | Mapping[str, Any]) -> ApiMigration:
    parsed = migration if isinstance(migration, ApiMigration) else ApiMigration.from_dict(migration)
    status = MIGRATION_STATUS_ON_INGEST.get(parsed.status, parsed.status)
    phase = MIGRATION_PHASE_ON_INGEST.get(parsed.phase, parsed.phase)
    if (status, phase) == (parsed.status, parsed.phase):
        return parsed
    return replace(parsed, status=status, phase=phase)


def _vm_content(vm: ApiVM) -> dict[str, Any]:
    return {
        "name": vm.name,
        "status": vm.status,
        "template": vm.template or "",
        "cpu_cores": vm.cpu_cores or 0,
        "memory_gb": vm.memory_gb or 0,
        "disk_size_gb": vm.disk_size_gb or 0,
        "network_id": vm.network_id or "",
        "cloud_provider": vm.cloud_provider or "",
        "region": vm.region or "",
        "cluster": vm.cluster or "",
        "ip_address": vm.ip_address or "",
        "tags": dict(vm.tags or {}),
    }


def _vm_version(vm: ApiVM) -> VMVersion:
    return VMVersion(updated_at=vm.updated_at, deleted=vm.is_deleted, content=_vm_content(vm))


def _cached_vm_version(row: VM | Mapping[str, Any]) -> VMVersion:
    values = (
        row
        if isinstance(row, Mapping)
        else {name: getattr(row, name) for name in ["updated_at", *VM_CONTENT_FIELDS]}
    )
    return VMVersion(
        updated_at=values["updated_at"], content={name: values[name] for name in VM_CONTENT_FIELDS}
    )


def _vm_row(partner: Partner, vm: ApiVM, *, cached: VM | Mapping[str, Any] | None, now: datetime) -> VM:
    def kept(name: str) -> Any:
        if cached is None:
            return None
        return cached[name] if isinstance(cached, Mapping) else getattr(cached, name)

    return VM(
        partner=partner,
        vm_id=vm.vm_id,
        **_vm_content(vm),
        created_at=vm.created_at or kept("created_at") or now,
        # Without a stamp (the contract always sends one) the row keeps its own, or starts at creation:
        # never our clock, which would make NovaCron's later versions look older.
        updated_at=vm.updated_at or kept("updated_at") or vm.created_at or now,
        synced_at=now,
    )


def _cluster_row(partner: Partner, cluster: ApiCluster, now: datetime) -> Cluster:
    return Cluster(
        partner=partner,
        cluster_id=cluster.cluster_id,
        name=cluster.name,
        cloud_provider=cluster.cloud_provider,
        region=cluster.region,
        status=cluster.status or "active",
        link_speed_mbps=int(cluster.link_speed_mbps or 0),
        capacity=cluster.capacity.to_dict() if cluster.capacity else {},
        synced_at=now,
    )


def _rate_history(history: list[list[Any]], incoming: ApiMigration) -> list[list[Any]]:
    metrics = incoming.metrics
    if (
        incoming.status != Migration.Status.IN_PROGRESS
        or metrics is None
        or metrics.transfer_rate_mbps is None
    ):
        return list(history)
    at = (incoming.updated_at or timezone.now()).isoformat()
    sample = [at, float(metrics.transfer_rate_mbps), float(metrics.dirty_rate_mbps or 0.0)]
    return [*(s for s in history if s and s[0] != at), sample][-RATE_HISTORY_LIMIT:]


def _migration_row(
    partner: Partner, incoming: ApiMigration, *, cached: Migration | None, vm: VM | None, now: datetime
) -> Migration:
    """The row NovaCron's answer gives; what the answer leaves out is kept from the cached row or the VM."""
    metrics = incoming.metrics.to_dict() if incoming.metrics else {}
    return Migration(
        pk=cached.pk if cached else None,
        partner=partner,
        migration_id=incoming.migration_id,
        source_vm_id=incoming.source_vm_id or (cached.source_vm_id if cached else ""),
        vm_name=(cached.vm_name if cached else "") or (vm.name if vm else ""),
        source_cluster=incoming.source_cluster
        or (cached.source_cluster if cached else "")
        or (vm.cluster if vm else ""),
        target_cluster=incoming.target_cluster
        or incoming.target_cluster_id
        or (cached.target_cluster if cached else ""),
        migration_type=incoming.migration_type or (cached.migration_type if cached else ""),
        status=incoming.status,
        phase=incoming.phase or "",
        progress_percentage=float(incoming.progress_percentage or 0.0),
        bytes_transferred=int(incoming.bytes_transferred or 0),
        bytes_total=int(incoming.bytes_total or 0),
        estimated_completion=incoming.estimated_completion,
        started_at=incoming.started_at,
        finished_at=incoming.finished_at,
        error=incoming.error or "",
        options=dict(incoming.options or {}),
        metrics={key: value for key, value in metrics.items() if value is not None},
        rate_history=_rate_history((cached.rate_history or []) if cached else [], incoming),
        created_at=incoming.created_at or (cached.created_at if cached else now),
        # As for VMs: without a stamp keep the row's, never our clock.
        updated_at=incoming.updated_at or (cached.updated_at if cached else incoming.created_at or now),
        last_event_at=cached.last_event_at if cached else None,
        synced_at=now,
    )


# --- VMs ----------------------------------------------------------------------------------------


def _known_deletions(partner: Partner, vm_ids: Iterable[str]) -> dict[str, VMVersion]:
    ids = sorted(set(vm_ids))
    if not ids:
        return {}
    rows = VMTombstone.objects.filter(partner=partner, vm_id__in=ids).values_list("vm_id", "updated_at")
    return {vm_id: VMVersion(updated_at=updated_at, deleted=True) for vm_id, updated_at in rows}


def _remember_deletions(partner: Partner, deletions: Mapping[str, datetime | None], now: datetime) -> None:
    """Keep the strongest tombstone per VM: an unstamped one, else the latest stamp."""
    if not deletions:
        return
    with transaction.atomic():
        known = {
            row.vm_id: row
            for row in VMTombstone.objects.select_for_update().filter(
                partner=partner, vm_id__in=list(deletions)
            )
        }
        fresh: list[VMTombstone] = []
        for vm_id, stamp in deletions.items():
            row = known.get(vm_id)
            if row is None:
                fresh.append(VMTombstone(partner=partner, vm_id=vm_id, updated_at=stamp, deleted_at=now))
            elif row.updated_at is not None and (stamp is None or stamp > row.updated_at):
                row.updated_at, row.deleted_at = stamp, now
                row.save(update_fields=["updated_at", "deleted_at"])
        VMTombstone.objects.bulk_create(fresh, ignore_conflicts=True)


@transaction.atomic
def store_vm(
    *, partner: Partner, vm: ApiVM | Mapping[str, Any], deleted: bool = False, now: datetime | None = None
) -> VMStored:
    """Upsert one VM (or, for a tombstone or `deleted`, remove it) unless the cache holds a newer version."""
    incoming = as_api_vm(vm)
    if deleted and not incoming.is_deleted:
        incoming = replace(incoming, status=VM.Status.DELETED)
    now = now or timezone.now()
    cached = VM.objects.select_for_update().filter(partner=partner, vm_id=incoming.vm_id).first()
    # Before the ordering rule: a late event the row ignores still says what the VM was at its stamp.
    intervals.record(partner=partner, seen=[intervals.seen_vm(incoming, now=now)], now=now)
    if incoming.is_deleted:
        _remember_deletions(partner, {incoming.vm_id: incoming.updated_at}, now)
    if cached is None:
        deletion = _known_deletions(partner, [incoming.vm_id]).get(incoming.vm_id)
        if incoming.is_deleted or (deletion is not None and not vm_is_newer(_vm_version(incoming), deletion)):
            return VMStored(None, changed=False)
        row = _vm_row(partner, incoming, cached=None, now=now)
        row.save()
        publishing.vms_changed(partner=partner, added=1)
        return VMStored(row, changed=True)
    if not vm_is_newer(_vm_version(incoming), _cached_vm_version(cached)):
        return VMStored(cached, changed=False)
    if incoming.is_deleted:
        cached.delete()
        cached.status = VM.Status.DELETED
        publishing.vms_changed(partner=partner, removed=[cached])
        return VMStored(None, changed=True, removed=cached)
    row = _vm_row(partner, incoming, cached=cached, now=now)
    row.pk = cached.pk
    row.save()
    publishing.vms_changed(partner=partner, vm_ids=[row.vm_id])
    return VMStored(row, changed=True)


def store_vms(*, partner: Partner, vms: Sequence[ApiVM], now: datetime | None = None) -> StoreResult:
    """Upsert a page of VMs and apply its tombstones: one read of the cached versions, then bulk writes.

    A cached row at least as new as NovaCron's answer keeps its content but is still marked as seen
    (`synced_at`), so a full reconciliation does not mistake it for a VM NovaCron no longer has.
    """
    now = now or timezone.now()
    if not vms:
        return StoreResult()
    intervals.record(partner=partner, seen=[intervals.seen_vm(vm, now=now) for vm in vms], now=now)
    return _store_vm_page(partner, vms, now=now, mark_seen=True, lock=False)


@transaction.atomic
def store_vm_events(
    *, partner: Partner, events: Sequence[tuple[Mapping[str, Any], bool]], now: datetime | None = None
) -> StoreResult:
    """Apply a run of webhook VM states (`data`, whether it is a vm.deleted) as `store_vm` would one by
    one, in the bulk writes of a page: the same outcome, a few queries instead of a few per event.

    Every state goes into the intervals (a late one still says what the VM was at its stamp); of the
    states of one VM only the one the ordering rule would leave standing is written, and the cached rows
    are locked first, as `store_vm` locks its row against the portal's own writes.
    """
    now = now or timezone.now()
    states = []
    for data, deleted in events:
        incoming = as_api_vm(data)
        if deleted and not incoming.is_deleted:
            incoming = replace(incoming, status=VM.Status.DELETED)
        states.append(incoming)
    if not states:
        return StoreResult()
    intervals.record(partner=partner, seen=[intervals.seen_vm(vm, now=now) for vm in states], now=now)
    standing: dict[str, ApiVM] = {}
    # Every deletion is remembered, a losing one too (as store_vm remembers each): the strongest per VM.
    deletions: dict[str, datetime | None] = {}
    for vm in states:
        current = standing.get(vm.vm_id)
        if current is None or vm_is_newer(_vm_version(vm), _vm_version(current)):
            standing[vm.vm_id] = vm
        if vm.is_deleted:
            known = deletions.get(vm.vm_id, vm.updated_at)
            stronger = vm.updated_at is None or known is None or vm.updated_at > known
            deletions[vm.vm_id] = None if known is None else (vm.updated_at if stronger else known)
    return _store_vm_page(
        partner, list(standing.values()), now=now, mark_seen=False, lock=True, tombstones=deletions
    )


def _store_vm_page(
    partner: Partner,
    vms: Sequence[ApiVM],
    *,
    now: datetime,
    mark_seen: bool,
    lock: bool,
    tombstones: Mapping[str, datetime | None] | None = None,
) -> StoreResult:
    """The writes of `store_vms`, for VMs of distinct ids whose states the intervals already have;
    `tombstones`: the deletions to remember (by default the page's deleted VMs)."""
    result = StoreResult()
    result.latest_update = max((vm.updated_at for vm in vms if vm.updated_at), default=None)
    rows = VM.objects.filter(partner=partner, vm_id__in=[vm.vm_id for vm in vms])
    if lock:
        rows = rows.select_for_update()
    cached = {
        row["vm_id"]: row for row in rows.values("vm_id", "created_at", *VM_CONTENT_FIELDS, "updated_at")
    }
    deletions = _known_deletions(
        partner, [vm.vm_id for vm in vms if vm.vm_id not in cached and not vm.is_deleted]
    )
    newer: list[ApiVM] = []
    removed: list[str] = []
    seen: list[str] = []
    for vm in vms:
        incoming, row = _vm_version(vm), cached.get(vm.vm_id)
        if row is None:
            deletion = deletions.get(vm.vm_id)
            if not vm.is_deleted and (deletion is None or vm_is_newer(incoming, deletion)):
                newer.append(vm)
        elif vm_is_newer(incoming, _cached_vm_version(row)):
            if vm.is_deleted:
                removed.append(vm.vm_id)
            else:
                newer.append(vm)
        else:
            seen.append(vm.vm_id)
            result.stored += int(not vm.is_deleted and vm.updated_at in (None, row["updated_at"]))
    if tombstones is None:
        tombstones = {vm.vm_id: vm.updated_at for vm in vms if vm.is_deleted}
    _remember_deletions(partner, tombstones, now)
    if removed:
        result.deleted, _ = VM.objects.filter(partner=partner, vm_id__in=removed).delete()
    if newer:
        insert_many(
            [_vm_row(partner, vm, cached=cached.get(vm.vm_id), now=now) for vm in newer],
            on_conflict="update",
            unique_fields=["partner", "vm_id"],
            update_fields=VM_UPDATE_FIELDS,
        )
    if seen and mark_seen:
        VM.objects.filter(partner=partner, vm_id__in=seen).update(synced_at=now)
    result.stored += len(newer)
    publishing.vms_changed(
        partner=partner,
        vm_ids=[vm.vm_id for vm in newer if vm.vm_id in cached],
        removed=[VM(partner=partner, **cached[vm_id]) for vm_id in removed],
        added=sum(vm.vm_id not in cached for vm in newer),
    )
    return result


@transaction.atomic
def forget_vm(*, partner: Partner, vm_id: str) -> None:
    """NovaCron no longer has the VM (404, or the portal deleted it: 204 without a body)."""
    now = timezone.now()
    _remember_deletions(partner, {vm_id: None}, now)
    intervals.record(partner=partner, seen=[intervals.seen_deleted(vm_id, at=now)], now=now)
    removed = list(VM.objects.select_for_update().filter(partner=partner, vm_id=vm_id))
    VM.objects.filter(pk__in=[vm.pk for vm in removed]).delete()
    publishing.vms_changed(partner=partner, removed=removed)


@transaction.atomic
def sweep_vms(*, partner: Partner, unseen_since: datetime) -> int:
    """A full reconciliation's end: remove the VMs no page marked as seen since `unseen_since`."""
    unseen = list(VM.objects.select_for_update().filter(partner=partner, synced_at__lt=unseen_since))
    swept, _ = VM.objects.filter(pk__in=[vm.pk for vm in unseen]).delete()
    # Gone some time after the sweep's run began: its start is the nearest stamp the portal has.
    intervals.record(
        partner=partner,
        seen=[intervals.seen_deleted(vm.vm_id, at=unseen_since) for vm in unseen],
        now=timezone.now(),
    )
    publishing.vms_changed(partner=partner, removed=unseen)
    return swept


# --- clusters -----------------------------------------------------------------------------------


def store_clusters(
    *, partner: Partner, clusters: Iterable[ApiCluster], now: datetime | None = None
) -> StoreResult:
    """Replace the partner's clusters with NovaCron's list.

    Clusters carry no version: NovaCron's latest list is the truth (it is small and not paginated).
    """
    now = now or timezone.now()
    rows = [_cluster_row(partner, cluster, now) for cluster in clusters]
    Cluster.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["partner", "cluster_id"],
        update_fields=[
            "name",
            "cloud_provider",
            "region",
            "status",
            "link_speed_mbps",
            "capacity",
            "synced_at",
        ],
    )
    deleted, _ = (
        Cluster.objects.filter(partner=partner)
        .exclude(cluster_id__in=[row.cluster_id for row in rows])
        .delete()
    )
    return StoreResult(stored=len(rows), deleted=deleted)


# --- migrations ---------------------------------------------------------------------------------


def _follow_on_vm(migration: Migration) -> list[VM]:
    """The migrating VM's cached status (and, once moved, its cluster) follow the migration.

    NovaCron changes the VM at those moments without a vm.* event, so the cache derives it, stamped with
    the migration's `updated_at`; a derived state only replaces an older VM version, never a tie, so a
    later (or equally stamped) word of NovaCron's on the VM wins.
    """
    vm = VM.objects.filter(partner_id=migration.partner_id, vm_id=migration.source_vm_id).first()
    if vm is None or not vm_is_newer(
        VMVersion(updated_at=migration.updated_at), VMVersion(updated_at=vm.updated_at)
    ):
        return []
    changed: list[str] = []
    if migration.is_active and vm.status != VM.Status.MIGRATING:
        vm.status = VM.Status.MIGRATING
        changed.append("status")
    elif not migration.is_active and vm.status == VM.Status.MIGRATING:
        vm.status = VM.Status.RUNNING
        changed.append("status")
    if (
        migration.status == Migration.Status.COMPLETED
        and migration.target_cluster
        and vm.cluster != migration.target_cluster
    ):
        vm.cluster = migration.target_cluster
        changed.append("cluster")
        target = Cluster.objects.filter(
            partner_id=migration.partner_id, cluster_id=migration.target_cluster
        ).first()
        if target is not None:
            vm.region, vm.cloud_provider = target.region, target.cloud_provider
            changed += ["region", "cloud_provider"]
    if not changed:
        return []
    vm.updated_at = migration.updated_at
    vm.save(update_fields=[*changed, "updated_at"])
    return [vm]


# Called (after commit) with the partner and the migration whenever a store moves a cached migration
# to a finished status: an app above this one registers here to learn that a concurrency slot is free.
_MIGRATION_FINISHED: list[Callable[[Partner, Migration], None]] = []


def on_migration_finished(callback: Callable[[Partner, Migration], None]) -> None:
    if callback not in _MIGRATION_FINISHED:
        _MIGRATION_FINISHED.append(callback)


def _announce_finished(partner: Partner, row: Migration, was: str | None) -> None:
    if row.status in Migration.FINISHED and was not in Migration.FINISHED:
        for callback in _MIGRATION_FINISHED:
            transaction.on_commit(partial(callback, partner, row))


@transaction.atomic
def store_migration(
    *,
    partner: Partner,
    migration: ApiMigration | Mapping[str, Any],
    from_event: bool = False,
    now: datetime | None = None,
) -> MigrationStored:
    """Upsert one migration from an API answer or a webhook, never moving it backwards.

    Returns the cached migration, whether it changed, and the VMs whose cached state followed it.
    Applying the same version twice changes nothing shown; an API answer still marks the row as heard
    from (`synced_at`), so the lost-webhook poll does not ask again at once.
    """
    incoming = as_api_migration(migration)
    now = now or timezone.now()
    cached = (
        Migration.objects.select_for_update()
        .filter(partner=partner, migration_id=incoming.migration_id)
        .first()
    )
    if cached is not None and not migration_is_newer(incoming, cached):
        if not from_event:
            cached.synced_at = now
            Migration.objects.filter(pk=cached.pk).update(synced_at=now)
        return MigrationStored(cached, False, [])
    vm = None
    if cached is None or not cached.vm_name:
        vm = VM.objects.filter(partner=partner, vm_id=incoming.source_vm_id).only("name", "cluster").first()
    row = _migration_row(partner, incoming, cached=cached, vm=vm, now=now)
    if from_event:
        row.last_event_at = now
    row.save()
    intervals.record(
        partner=partner, seen=intervals.seen_migrations(partner=partner, migrations=[row]), now=now
    )
    _announce_finished(partner, row, cached.status if cached is not None else None)
    followed = _follow_on_vm(row)
    publishing.migrations_changed(partner=partner, migration_ids=[row.migration_id])
    publishing.vms_changed(partner=partner, vm_ids=[vm.vm_id for vm in followed])
    return MigrationStored(row, True, followed)


def store_migrations(
    *, partner: Partner, migrations: Sequence[ApiMigration], now: datetime | None = None
) -> StoreResult:
    """Upsert a page of migrations, never moving one backwards; one read of the cached rows, one write.

    The sync's own VM pages carry NovaCron's VM state, so unlike `store_migration` the VMs are not derived.
    """
    now = now or timezone.now()
    result = StoreResult()
    if not migrations:
        return result
    migrations = [as_api_migration(migration) for migration in migrations]
    cached = {
        row.migration_id: row
        for row in Migration.objects.filter(
            partner=partner, migration_id__in=[m.migration_id for m in migrations]
        )
    }
    newer = {
        migration.migration_id: migration
        for migration in migrations
        if migration.migration_id not in cached
        or migration_is_newer(migration, cached[migration.migration_id])
    }
    seen = [migration_id for migration_id in cached if migration_id not in newer]
    if seen:
        Migration.objects.filter(partner=partner, migration_id__in=seen).update(synced_at=now)
    if not newer:
        return result
    unnamed = {
        m.source_vm_id
        for m in newer.values()
        if not (m.migration_id in cached and cached[m.migration_id].vm_name)
    }
    vms = {
        vm.vm_id: vm
        for vm in VM.objects.filter(partner=partner, vm_id__in=unnamed).only("vm_id", "name", "cluster")
    }
    rows = [
        _migration_row(
            partner, migration, cached=cached.get(migration_id), vm=vms.get(migration.source_vm_id), now=now
        )
        for migration_id, migration in newer.items()
    ]
    for row in rows:
        row.pk = None  # upserted on (partner, migration_id)
    Migration.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["partner", "migration_id"],
        update_fields=MIGRATION_UPDATE_FIELDS,
    )
    result.stored = len(rows)
    intervals.record(
        partner=partner, seen=intervals.seen_migrations(partner=partner, migrations=rows), now=now
    )
    # A finish the sync sees before its webhook frees the slot all the same (the webhook then finds
    # the row finished already and announces nothing).
    for row in rows:
        was = cached.get(row.migration_id)
        _announce_finished(partner, row, was.status if was is not None else None)
    publishing.migrations_changed(partner=partner, migration_ids=newer)
    result.latest_update = max((m.updated_at for m in newer.values() if m.updated_at), default=None)
    return result
