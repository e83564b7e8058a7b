"""Celery tasks of the inventory sync: thin adapters taking partner ids (schedule in settings).

The fan-out tasks enqueue one task per partner with credentials, so one slow or failing partner does
not hold up the others. A cache lock skips a run while the previous one of the same kind is still
going (a full sync of a big fleet can outlast the 30 s beat). The lock lives in the shared cache, so
it holds across workers, and expires after `SYNC_RUN_ABANDON_AFTER_SECONDS`: a worker killed mid-run
cannot hold up the partner's syncs for longer than that.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from partners.models import Partner
from vms import sync
from vms.models import SyncRun
from vms.quota_gauges import quota_gauges_publish


def _run_once(kind: str, partner_pk: int, run: Callable[..., SyncRun]) -> int | None:
    partner = Partner.objects.filter(pk=partner_pk).first()
    if partner is None:
        return None
    lock = f"vms:sync-lock:{kind}:{partner_pk}"
    if not cache.add(lock, "1", timeout=settings.SYNC_RUN_ABANDON_AFTER_SECONDS):
        return None
    try:
        return run(partner=partner).pk
    finally:
        cache.delete(lock)


@shared_task(name="vms.sync_partner")
def sync_partner(partner_pk: int) -> int | None:
    return _run_once("partner", partner_pk, sync.sync_partner)


@shared_task(name="vms.refresh_quotas")
def refresh_quotas(partner_pk: int) -> int | None:
    """Re-read the partner's quotas now and push the overview's quota cards to their open pages.

    Queued by `vms.quota_gauges.quota_refresh_soon` when a webhook or the portal changed quota usage. If a sync of
    the partner is already running it is skipped, and the cards show what is cached.
    """
    partner = Partner.objects.filter(pk=partner_pk).first()
    if partner is None:
        return None
    run_pk = (
        _run_once("partner", partner_pk, sync.sync_partner)
        if partner.api_key and partner.api_secret
        else None
    )
    partner.refresh_from_db()  # the sync updated the rate-limit fields with a queryset update
    quota_gauges_publish(partner=partner)
    return run_pk


@shared_task(name="vms.publish_fleet")
def publish_fleet(partner_pk: int) -> None:
    """The overview's fleet counts to open pages, queued by `vms.publishing.fleet_counts_soon`."""
    from vms.publishing import fleet_counts_publish

    fleet_counts_publish(partner_pk=partner_pk)


@shared_task(name="vms.sync_vms_incremental")
def sync_vms_incremental(partner_pk: int) -> int | None:
    # Shares the full run's lock: both write the same rows and move the same watermark.
    return _run_once("vms", partner_pk, sync.sync_vms_incremental)


@shared_task(name="vms.sync_vms_full")
def sync_vms_full(partner_pk: int) -> int | None:
    return _run_once("vms", partner_pk, sync.sync_vms_full)


@shared_task(name="vms.sync_all_partners")
def sync_all_partners() -> int:
    partners = sync.partners_to_sync()
    for partner in partners:
        sync_partner.delay(partner.pk)
    return len(partners)


@shared_task(name="vms.sync_all_vms_incremental")
def sync_all_vms_incremental() -> int:
    partners = sync.partners_to_sync()
    for partner in partners:
        sync_vms_incremental.delay(partner.pk)
    return len(partners)


@shared_task(name="vms.sync_all_vms_full")
def sync_all_vms_full() -> int:
    partners = sync.partners_to_sync()
    for partner in partners:
        sync_vms_full.delay(partner.pk)
    return len(partners)


@shared_task(name="vms.abandon_stale_runs")
def abandon_stale_runs() -> int:
    return sync.sync_runs_abandon()
