"""Reads of cached migrations, always scoped to one partner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from partners.models import Partner, Quota
from vms.models import VM, Cluster, Migration

QUOTA_NAME = "migration_concurrent"


def migration_list(*, partner: Partner, filters: dict[str, Any] | None = None) -> QuerySet[Migration]:
    """Migrations newest first, filtered by status, type and VM (id or name)."""
    filters = filters or {}
    migrations = Migration.objects.filter(partner=partner)
    if filters.get("status"):
        migrations = migrations.filter(status=filters["status"])
    if filters.get("migration_type"):
        migrations = migrations.filter(migration_type=filters["migration_type"])
    if filters.get("vm"):
        term = filters["vm"]
        migrations = migrations.filter(Q(source_vm_id=term) | Q(vm_name__icontains=term))
    return migrations.order_by("-created_at", "-pk")


def migration_active_list(*, partner: Partner, vm_id: str | None = None) -> QuerySet[Migration]:
    active = Migration.objects.filter(partner=partner).exclude(status__in=Migration.FINISHED)
    if vm_id is not None:
        active = active.filter(source_vm_id=vm_id)
    return active.order_by("-created_at", "-pk")


def migration_history(*, partner: Partner, filters: dict[str, Any] | None = None) -> QuerySet[Migration]:
    filters = dict(filters or {})
    history = migration_list(partner=partner, filters=filters)
    if not filters.get("status"):
        history = history.filter(status__in=Migration.FINISHED)
    return history


def migration_target_clusters(*, partner: Partner, vm: VM) -> QuerySet[Cluster]:
    """Synced clusters the VM could move to: every one but its own."""
    return Cluster.objects.filter(partner=partner).exclude(cluster_id=vm.cluster).order_by("name")


@dataclass(frozen=True)
class ConcurrencyQuota:
    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def migration_concurrency_quota(*, partner: Partner) -> ConcurrencyQuota:
    """The `migration_concurrent` quota: NovaCron's synced figure, or our own count if that is fresher.

    The synced figure is as of its sync: the migrations it counted that have finished since (created
    before the sync, finished after it, as the webhooks or the poll told the cache) no longer hold a
    slot, so a slot freed between two quota syncs is free at once."""
    synced = Quota.objects.filter(partner=partner, name=QUOTA_NAME).first()
    limit = synced.limit if synced is not None else (partner.quota_limits or {}).get(QUOTA_NAME)
    active = migration_active_list(partner=partner).count()
    used = active
    if synced is not None and synced.used > active:  # else our own count is the higher one anyway
        finished_since = Migration.objects.filter(
            partner=partner,
            status__in=Migration.FINISHED,
            created_at__lte=synced.synced_at,
            finished_at__gt=synced.synced_at,
        ).count()
        used = max(active, synced.used - finished_since)
    return ConcurrencyQuota(limit=int(limit) if limit is not None else None, used=used)
