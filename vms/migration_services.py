"""Migrations in the cache: applying NovaCron's answers and events (never backwards), start, cancel, poll."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import novacron
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from novacron.errors import NotFoundError
from novacron.models import MigrationSpec, MigrationStatus

from live.services import publish
from partners.models import Partner
from vms.models import VM, Cluster, Migration
from vms.topics import MIGRATION_TOPIC, VM_TOPIC

logger = logging.getLogger(__name__)

# Enough samples for the panel's rate chart and a smoothed ETA, small enough to rewrite on each event.
RATE_HISTORY_LIMIT = 60


def _as_status(status: MigrationStatus | Mapping[str, Any]) -> MigrationStatus:
    return status if isinstance(status, MigrationStatus) else MigrationStatus.from_dict(status)


def _is_stale(migration: Migration, incoming: MigrationStatus) -> bool:
    """True when `incoming` would move the cached migration backwards (or is what we already have)."""
    if migration.status in Migration.FINISHED and incoming.status not in Migration.FINISHED:
        return True
    if incoming.updated_at is None:
        # Without a version we cannot order it: only a first sight of the migration is taken.
        return True
    return incoming.updated_at <= migration.updated_at


def _append_rate_sample(migration: Migration, incoming: MigrationStatus) -> None:
    metrics = incoming.metrics
    if incoming.status != Migration.Status.IN_PROGRESS or metrics is None or metrics.transfer_rate_mbps is None:
        return
    at = (incoming.updated_at or timezone.now()).isoformat()
    sample = [at, float(metrics.transfer_rate_mbps), float(metrics.dirty_rate_mbps or 0.0)]
    history = [s for s in (migration.rate_history or []) if s and s[0] != at]
    history.append(sample)
    migration.rate_history = history[-RATE_HISTORY_LIMIT:]


def _follow_on_vm(migration: Migration) -> list[VM]:
    """The migrating VM's cached status (and, once moved, its cluster) follow the migration.

    A VM fact newer than this migration update (e.g. a later vm.stopped) wins.
    """
    vm = VM.objects.filter(partner_id=migration.partner_id, vm_id=migration.source_vm_id).first()
    if vm is None or vm.updated_at > migration.updated_at:
        return []
    changed: list[str] = []
    if migration.is_active and vm.status != VM.Status.MIGRATING:
        vm.status = VM.Status.MIGRATING
        changed.append("status")
    elif not migration.is_active and vm.status == VM.Status.MIGRATING:
        vm.status = VM.Status.RUNNING
        changed.append("status")
    if migration.status == Migration.Status.COMPLETED and migration.target_cluster and vm.cluster != migration.target_cluster:
        vm.cluster = migration.target_cluster
        changed.append("cluster")
        target = Cluster.objects.filter(partner_id=migration.partner_id, cluster_id=migration.target_cluster).first()
        if target is not None:
            vm.region, vm.cloud_provider = target.region, target.cloud_provider
            changed += ["region", "cloud_provider"]
    if not changed:
        return []
    vm.save(update_fields=changed)
    return [vm]


@transaction.atomic
def migration_apply_status(
    *, partner: Partner, status: MigrationStatus | Mapping[str, Any], from_event: bool = False
) -> tuple[Migration, bool, list[VM]]:
    """Upsert one migration from an API answer or a webhook, never moving it backwards.

    Returns the cached migration, whether it changed, and the VMs whose cached state changed.
    Applying the same status twice changes nothing.
    """
    incoming = _as_status(status)
    now = timezone.now()
    migration = (
        Migration.objects.select_for_update().filter(partner=partner, migration_id=incoming.migration_id).first()
    )
    if migration is not None and _is_stale(migration, incoming):
        return migration, False, []
    if migration is None:
        vm = VM.objects.filter(partner=partner, vm_id=incoming.source_vm_id).only("name", "cluster").first()
        migration = Migration(
            partner=partner,
            migration_id=incoming.migration_id,
            vm_name=vm.name if vm else "",
            source_cluster=vm.cluster if vm else "",
            created_at=incoming.created_at or now,
        )
    metrics = incoming.metrics.to_dict() if incoming.metrics else {}
    migration.source_vm_id = incoming.source_vm_id or migration.source_vm_id
    migration.source_cluster = incoming.source_cluster or migration.source_cluster
    migration.target_cluster = incoming.target_cluster or incoming.target_cluster_id or migration.target_cluster
    migration.migration_type = incoming.migration_type or migration.migration_type
    migration.status = incoming.status
    migration.phase = incoming.phase or ""
    migration.progress_percentage = float(incoming.progress_percentage or 0.0)
    migration.bytes_transferred = int(incoming.bytes_transferred or 0)
    migration.bytes_total = int(incoming.bytes_total or 0)
    migration.estimated_completion = incoming.estimated_completion
    migration.started_at = incoming.started_at
    migration.finished_at = incoming.finished_at
    migration.error = incoming.error or ""
    migration.options = dict(incoming.options or {})
    migration.metrics = {key: value for key, value in metrics.items() if value is not None}
    migration.updated_at = incoming.updated_at or now
    migration.synced_at = now
    if from_event:
        migration.last_event_at = now
    _append_rate_sample(migration, incoming)
    migration.save()
    return migration, True, _follow_on_vm(migration)


def migration_publish(*, migration: Migration, vms: list[VM] | tuple[VM, ...] = ()) -> None:
    """Push the migration's panel (and the status of VMs it moved) to the partner's open pages."""
    html = render_to_string("vms/migrations/_panel.html", {"migration": migration, "oob": True})
    publish(partner=migration.partner, topic=MIGRATION_TOPIC, html=html)
    for vm in vms:
        publish(partner=migration.partner, topic=VM_TOPIC, html=render_to_string("vms/_vm_status.html", {"vm": vm, "oob": True}))


def migration_start(
    *,
    client: novacron.Client,
    partner: Partner,
    vm: VM,
    target_cluster: str,
    migration_type: str,
    downtime_window_minutes: int | None = None,
    verify_after_migration: bool = True,
) -> Migration:
    """Ask NovaCron (as the user) to migrate the VM, then cache and publish its answer."""
    options: dict[str, Any] = {"verify_after_migration": verify_after_migration}
    if downtime_window_minutes is not None:
        options["downtime_window_minutes"] = downtime_window_minutes
    answer = client.start_migration(
        MigrationSpec(
            source_vm_id=vm.vm_id, target_cluster=target_cluster, migration_type=migration_type, options=options
        )
    )
    migration, changed, vms = migration_apply_status(partner=partner, status=answer)
    if changed:
        migration_publish(migration=migration, vms=vms)
    return migration


def migration_cancel(*, client: novacron.Client, migration: Migration) -> Migration:
    answer = client.cancel_migration(migration.migration_id)
    migration, changed, vms = migration_apply_status(partner=migration.partner, status=answer)
    if changed:
        migration_publish(migration=migration, vms=vms)
    return migration


def migrations_awaiting_poll(*, partner: Partner, quiet_for: timedelta) -> list[Migration]:
    """Active migrations that neither an event nor a poll has refreshed for `quiet_for`."""
    cutoff = timezone.now() - quiet_for
    active = Migration.objects.filter(partner=partner).exclude(status__in=Migration.FINISHED)
    return list(
        active.filter(Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True)).filter(synced_at__lt=cutoff)
    )


def migrations_poll_stale(*, partner: Partner, client: novacron.Client, quiet_for: timedelta | None = None) -> int:
    """The fallback for lost webhooks: refresh quiet active migrations through the API. Returns updates."""
    if quiet_for is None:
        quiet_for = timedelta(seconds=getattr(settings, "MIGRATION_POLL_AFTER_SECONDS", 15))
    updated = 0
    for stale in migrations_awaiting_poll(partner=partner, quiet_for=quiet_for):
        try:
            answer = client.get_migration_status(stale.migration_id)
        except NotFoundError:
            logger.info("migration %s is gone from NovaCron; leaving the cached copy", stale.migration_id)
            continue
        migration, changed, vms = migration_apply_status(partner=partner, status=answer)
        if not changed:
            # Nothing new: mark it polled so the next round does not ask again at once.
            Migration.objects.filter(pk=migration.pk).update(synced_at=timezone.now())
            continue
        migration_publish(migration=migration, vms=vms)
        updated += 1
    return updated
