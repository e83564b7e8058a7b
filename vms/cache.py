"""Writing NovaCron's answers into the local cache, shared by the sync, the actions and the detail page.

Every write is an upsert keyed on (partner, NovaCron id) and never replaces a newer row with an older
answer: a webhook or an action may have stored a fresher state while a sync page was in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from novacron.models import VM as ApiVM
from novacron.models import Cluster as ApiCluster
from novacron.models import MigrationStatus as ApiMigration

from partners.models import Partner
from vms.models import VM, Cluster, Migration

VM_UPDATE_FIELDS = [
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
    "created_at",
    "updated_at",
    "synced_at",
]

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
    "created_at",
    "updated_at",
    "synced_at",
]


@dataclass
class StoreResult:
    stored: int = 0
    deleted: int = 0
    latest_update: datetime | None = None


def _vm_row(partner: Partner, vm: ApiVM, now: datetime) -> VM:
    return VM(
        partner=partner,
        vm_id=vm.vm_id,
        name=vm.name,
        status=vm.status,
        template=vm.template or "",
        cpu_cores=vm.cpu_cores or 0,
        memory_gb=vm.memory_gb or 0,
        disk_size_gb=vm.disk_size_gb or 0,
        network_id=vm.network_id or "",
        cloud_provider=vm.cloud_provider or "",
        region=vm.region or "",
        cluster=vm.cluster or "",
        ip_address=vm.ip_address or "",
        tags=dict(vm.tags or {}),
        created_at=vm.created_at or now,
        updated_at=vm.updated_at or now,
        synced_at=now,
    )


def store_vms(*, partner: Partner, vms: Sequence[ApiVM], now: datetime | None = None) -> StoreResult:
    """Upsert live VMs and drop tombstones, in two statements plus one read of the cached versions.

    A cached row newer than NovaCron's answer keeps its content but is still marked as seen
    (`synced_at`), so a full reconciliation does not mistake it for a VM NovaCron no longer has.
    """
    now = now or timezone.now()
    result = StoreResult()
    if not vms:
        return result
    result.latest_update = max((vm.updated_at for vm in vms if vm.updated_at), default=None)
    tombstones = [vm.vm_id for vm in vms if vm.is_deleted]
    live = [vm for vm in vms if not vm.is_deleted]
    if tombstones:
        result.deleted, _ = VM.objects.filter(partner=partner, vm_id__in=tombstones).delete()
    cached = dict(
        VM.objects.filter(partner=partner, vm_id__in=[vm.vm_id for vm in live]).values_list("vm_id", "updated_at")
    )
    fresher = [vm for vm in live if not (vm.updated_at and cached.get(vm.vm_id) and cached[vm.vm_id] > vm.updated_at)]
    fresher_ids = {vm.vm_id for vm in fresher}
    kept = [vm.vm_id for vm in live if vm.vm_id not in fresher_ids]
    if fresher:
        VM.objects.bulk_create(
            [_vm_row(partner, vm, now) for vm in fresher],
            update_conflicts=True,
            unique_fields=["partner", "vm_id"],
            update_fields=VM_UPDATE_FIELDS,
            batch_size=500,
        )
    if kept:
        VM.objects.filter(partner=partner, vm_id__in=kept).update(synced_at=now)
    result.stored = len(fresher)
    return result


def store_clusters(*, partner: Partner, clusters: Iterable[ApiCluster], now: datetime | None = None) -> StoreResult:
    """Replace the partner's clusters with NovaCron's list (it is small and not paginated)."""
    now = now or timezone.now()
    rows = [
        Cluster(
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
        for cluster in clusters
    ]
    Cluster.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["partner", "cluster_id"],
        update_fields=["name", "cloud_provider", "region", "status", "link_speed_mbps", "capacity", "synced_at"],
    )
    deleted, _ = (
        Cluster.objects.filter(partner=partner).exclude(cluster_id__in=[row.cluster_id for row in rows]).delete()
    )
    return StoreResult(stored=len(rows), deleted=deleted)


def _migration_is_stale(cached: tuple[str, datetime] | None, incoming: ApiMigration) -> bool:
    """True when `incoming` would move the cached migration backwards."""
    if cached is None:
        return False
    status, updated_at = cached
    if status in Migration.FINISHED and incoming.status not in Migration.FINISHED:
        return True
    return incoming.updated_at is not None and incoming.updated_at < updated_at


def store_migrations(
    *, partner: Partner, migrations: Sequence[ApiMigration], now: datetime | None = None
) -> StoreResult:
    """Upsert migrations, never moving one backwards: an older `updated_at` than the cache is ignored."""
    now = now or timezone.now()
    result = StoreResult()
    if not migrations:
        return result
    ids = [migration.migration_id for migration in migrations]
    cached = {
        migration_id: (status, updated_at)
        for migration_id, status, updated_at in Migration.objects.filter(
            partner=partner, migration_id__in=ids
        ).values_list("migration_id", "status", "updated_at")
    }
    newer = {
        migration.migration_id: migration
        for migration in migrations
        if not _migration_is_stale(cached.get(migration.migration_id), migration)
    }
    if not newer:
        return result
    vm_names = dict(
        VM.objects.filter(partner=partner, vm_id__in={m.source_vm_id for m in newer.values()}).values_list("vm_id", "name")
    )
    rows = [
        Migration(
            partner=partner,
            migration_id=migration.migration_id,
            source_vm_id=migration.source_vm_id,
            vm_name=vm_names.get(migration.source_vm_id, ""),
            source_cluster=migration.source_cluster or "",
            target_cluster=migration.target_cluster or migration.target_cluster_id or "",
            migration_type=migration.migration_type,
            status=migration.status,
            phase=migration.phase or "",
            progress_percentage=migration.progress_percentage or 0.0,
            bytes_transferred=migration.bytes_transferred or 0,
            bytes_total=migration.bytes_total or 0,
            estimated_completion=migration.estimated_completion,
            started_at=migration.started_at,
            finished_at=migration.finished_at,
            error=migration.error or "",
            options=dict(migration.options or {}),
            metrics=migration.metrics.to_dict() if migration.metrics else {},
            created_at=migration.created_at or now,
            updated_at=migration.updated_at or now,
            synced_at=now,
        )
        for migration in newer.values()
    ]
    Migration.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["partner", "migration_id"],
        update_fields=MIGRATION_UPDATE_FIELDS,
    )
    result.stored = len(rows)
    result.latest_update = max((m.updated_at for m in newer.values() if m.updated_at), default=None)
    return result
