"""Migrations through the partner's NovaCron: start, cancel and the lost-webhook poll.

Every answer is written to the cache by `vms.cache.store_migration` (never backwards), which also publishes
the changed panel and VMs to open pages.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import novacron
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from novacron.errors import NotFoundError
from novacron.models import MigrationSpec

from partners.models import Partner
from vms.cache import store_migration
from vms.models import VM, Migration
from vms.quota_gauges import quota_refresh_soon

logger = logging.getLogger(__name__)


def migration_start(
    *,
    client: novacron.Client,
    partner: Partner,
    vm: VM,
    target_cluster: str,
    migration_type: str,
    downtime_window_minutes: int | None = None,
    verify_after_migration: bool = True,
    idempotency_key: str | None = None,
) -> Migration:
    """Ask NovaCron (as the user) to migrate the VM, then cache and publish its answer.

    The same `idempotency_key` again (the form posted twice) starts no second migration."""
    options: dict[str, Any] = {"verify_after_migration": verify_after_migration}
    if downtime_window_minutes is not None:
        options["downtime_window_minutes"] = downtime_window_minutes
    answer = client.start_migration(
        MigrationSpec(
            source_vm_id=vm.vm_id,
            target_cluster=target_cluster,
            migration_type=migration_type,
            options=options,
        ),
        idempotency_key=idempotency_key,
    )
    migration, _, _ = store_migration(partner=partner, migration=answer)  # publishes what changed
    quota_refresh_soon(partner_pk=partner.pk)  # a concurrent-migration slot is taken
    return migration


def migration_cancel(
    *, client: novacron.Client, migration: Migration, idempotency_key: str | None = None
) -> Migration:
    answer = client.cancel_migration(migration.migration_id, idempotency_key=idempotency_key)
    migration, _, _ = store_migration(partner=migration.partner, migration=answer)  # publishes what changed
    quota_refresh_soon(partner_pk=migration.partner_id)  # the slot is free again
    return migration


def migrations_awaiting_poll(*, partner: Partner, quiet_for: timedelta) -> list[Migration]:
    """Active migrations that neither an event nor a poll has refreshed for `quiet_for`."""
    cutoff = timezone.now() - quiet_for
    active = Migration.objects.filter(partner=partner).exclude(status__in=Migration.FINISHED)
    return list(
        active.filter(Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True)).filter(
            synced_at__lt=cutoff
        )
    )


def migrations_poll_stale(
    *, partner: Partner, client: novacron.Client, quiet_for: timedelta | None = None
) -> int:
    """The fallback for lost webhooks: refresh quiet active migrations through the API. Returns updates."""
    if quiet_for is None:
        quiet_for = timedelta(seconds=settings.MIGRATION_POLL_AFTER_SECONDS)
    updated = 0
    for stale in migrations_awaiting_poll(partner=partner, quiet_for=quiet_for):
        try:
            answer = client.get_migration_status(stale.migration_id)
        except NotFoundError:
            logger.info("migration %s is gone from NovaCron; leaving the cached copy", stale.migration_id)
            continue
        # Nothing new still marks it as polled (`synced_at`), so the next round does not ask again at once.
        updated += store_migration(partner=partner, migration=answer).changed  # published by the cache
    return updated
