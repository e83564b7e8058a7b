"""Background sync of the partner's fleet into the local cache, with the partner's HMAC credentials.

Each function is one kind of run, recorded as a `SyncRun` (what it did, or why it failed). A failed
run keeps what was already cached: nothing is swept and the watermark does not move, so the next run
starts again from the last good point.

- `sync_partner`: partner fields and quotas (every minute).
- `sync_vms_incremental`: clusters, VMs changed since the last watermark (tombstones delete the
  cached row) and active + recent migrations (every ~30 s).
- `sync_vms_full`: every VM, page by page, then removes what NovaCron no longer has (every ~15 min).

`updated_since` is an extension of the reference (docs/partner-api.md): a NovaCron that ignores it
answers with VMs older than the watermark, and one that refuses it answers 400 naming it. Either way
the incremental run is recorded as failed with that reason and a full reconciliation runs in its place,
so the cache still converges (deletions included, by the sweep) at the cost of a full run.

Deletions reach the cache two ways: the tombstones `updated_since` always lists, and the full
reconciliation's sweep of the VMs no page listed (the reference offers no deletion feed; the periodic
full run is what catches a deletion missed any other way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from novacron.errors import ValidationError
from novacron.models import VMListOptions

from partners import reachability
from partners.clients import partner_client
from partners.models import Partner, Quota
from vms import publishing
from vms.cache import store_clusters, store_migrations, store_vms, sweep_vms
from vms.models import SyncRun
from vms.pacing import SyncPacer, partner_limit_per_minute

if TYPE_CHECKING:
    import novacron

logger = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE = 500
# Re-read a little before the watermark: NovaCron's clock and commit order are not ours.
WATERMARK_OVERLAP = timedelta(seconds=5)
# How much older than `updated_since` a listed VM must be to show that NovaCron ignored the filter.
FILTER_PRECISION = timedelta(seconds=1)
RECENT_MIGRATIONS = 50
ACTIVE_MIGRATION_STATUSES = ("pending", "in_progress")


class SyncSession:
    """The client and pacer of one run; every API call goes through `call` so it is paced and counted."""

    def __init__(self, *, client: novacron.Client, pacer: SyncPacer) -> None:
        self.client = client
        self.pacer = pacer

    def call(self, request: Callable[[], T]) -> T:
        return self.pacer.call(request, rate_limit=lambda: self.client.rate_limit)


def open_session(
    partner: Partner, *, client: novacron.Client | None = None, pacer: SyncPacer | None = None
) -> SyncSession:
    if client is None:
        # One SDK retry at most: the pacer owns the waiting, so a 429 backs off in one place.
        client = partner_client(partner, max_retries=1)
    if pacer is None:
        pacer = SyncPacer(
            limit_per_minute=partner_limit_per_minute(partner), share=settings.SYNC_BUDGET_SHARE
        )
    return SyncSession(client=client, pacer=pacer)


def sync_runs_abandon(*, partner: Partner | None = None, kind: str | None = None) -> int:
    """Mark runs still "running" past `SYNC_RUN_ABANDON_AFTER_SECONDS` as abandoned; how many were.

    Such a run's worker died before it could record the outcome. Its lock in `vms.tasks` has expired
    by then too (same bound), so only the row is left to put right: nothing shows it as running any
    more, and it is plainly not the last good watermark.
    """
    now = timezone.now()
    stale = SyncRun.objects.filter(
        status=SyncRun.Status.RUNNING,
        started_at__lt=now - timedelta(seconds=settings.SYNC_RUN_ABANDON_AFTER_SECONDS),
    )
    if partner is not None:
        stale = stale.filter(partner=partner)
    if kind is not None:
        stale = stale.filter(kind=kind)
    return stale.update(
        status=SyncRun.Status.ABANDONED,
        finished_at=now,
        error="Abandoned: its worker stopped before the run finished.",
    )


@contextmanager
def recorded_run(partner: Partner, kind: str, session: SyncSession) -> Iterator[SyncRun]:
    """Record a run; an exception marks it failed with the error instead of escaping the worker."""
    sync_runs_abandon(partner=partner, kind=kind)
    run = SyncRun.objects.create(partner=partner, kind=kind, started_at=timezone.now())
    try:
        yield run
    except Exception as error:
        logger.warning("sync %s of %s failed: %s", kind, partner.partner_id, error, exc_info=True)
        run.status = SyncRun.Status.FAILED
        run.error = f"{type(error).__name__}: {error}"[:2000]
        if reachability.is_outage(error):
            reachability.novacron_unreachable(partner_pk=partner.pk, at=run.started_at)
    else:
        run.status = SyncRun.Status.SUCCEEDED
        reachability.novacron_reachable(partner_pk=partner.pk)
    finally:
        run.finished_at = timezone.now()
        run.api_calls = session.pacer.calls
        run.save()
        _remember_rate_limit(partner, session)


def _remember_rate_limit(partner: Partner, session: SyncSession) -> None:
    info = session.client.rate_limit
    if info is None:
        return
    Partner.objects.filter(pk=partner.pk).update(
        rate_limit_limit=info.limit, rate_limit_remaining=info.remaining, rate_limit_reset=info.reset
    )


def last_watermark(partner: Partner) -> datetime | None:
    """Where the last successful VM run got to (incremental or full)."""
    return (
        SyncRun.objects.filter(
            partner=partner,
            kind__in=[SyncRun.Kind.VMS_INCREMENTAL, SyncRun.Kind.VMS_FULL],
            status=SyncRun.Status.SUCCEEDED,
            watermark__isnull=False,
        )
        .order_by("-watermark")
        .values_list("watermark", flat=True)
        .first()
    )


# --- partner and quotas -------------------------------------------------------------------------


def sync_partner(
    *, partner: Partner, client: novacron.Client | None = None, pacer: SyncPacer | None = None
) -> SyncRun:
    session = open_session(partner, client=client, pacer=pacer)
    with recorded_run(partner, SyncRun.Kind.PARTNER, session) as run:
        remote = session.call(session.client.get_partner)
        quotas = session.call(session.client.get_quotas)
        now = timezone.now()
        with transaction.atomic():
            Partner.objects.filter(pk=partner.pk).update(
                name=remote.name or partner.name,
                type=remote.type,
                tier=remote.tier or partner.tier,
                status=remote.status or partner.status,
                entitlements=list(remote.entitlements),
                quota_limits=dict(remote.quota_limits),
                updated_at=now,
            )
            Quota.objects.bulk_create(
                [
                    Quota(
                        partner=partner,
                        name=quota.name,
                        limit=quota.limit,
                        used=quota.used,
                        remaining=quota.remaining,
                        reset_at=quota.reset_at,
                        synced_at=now,
                    )
                    for quota in quotas
                ],
                update_conflicts=True,
                unique_fields=["partner", "name"],
                update_fields=["limit", "used", "remaining", "reset_at", "synced_at"],
            )
            run.deleted, _ = (
                Quota.objects.filter(partner=partner)
                .exclude(name__in=[quota.name for quota in quotas])
                .delete()
            )
        run.items = len(quotas)
    return run


# --- VMs, clusters, migrations -----------------------------------------------------------------


class UpdatedSinceUnsupported(Exception):
    """NovaCron ignored or refused the `updated_since` extension: only a full run can sync this partner."""


def sync_vms_incremental(
    *, partner: Partner, client: novacron.Client | None = None, pacer: SyncPacer | None = None
) -> SyncRun:
    """Clusters, the VMs changed since the watermark, and active + recent migrations.

    With no watermark yet (a partner's first sync) this is a full reconciliation, and so it is when
    NovaCron does not support `updated_since` (see the module's docstring).
    """
    watermark = last_watermark(partner)
    if watermark is None:
        return sync_vms_full(partner=partner, client=client, pacer=pacer)
    session = open_session(partner, client=client, pacer=pacer)
    since = watermark - WATERMARK_OVERLAP
    unsupported = False
    with recorded_run(partner, SyncRun.Kind.VMS_INCREMENTAL, session) as run:
        _sync_clusters(partner, session)
        options = VMListOptions(updated_since=since, limit=PAGE_SIZE)
        latest = watermark
        pages = _vm_pages(session, options, first_page_check=partial(_check_updated_since, since))
        with publishing.fleet_counts_once(partner=partner):
            try:
                for page in pages:
                    stored = store_vms(partner=partner, vms=page)
                    run.items += stored.stored
                    run.deleted += stored.deleted
                    if stored.latest_update and stored.latest_update > latest:
                        latest = stored.latest_update
            except UpdatedSinceUnsupported:
                unsupported = True
                raise  # recorded as this run's failure, then the full run below takes its place
        _sync_migrations(partner, session)
        run.watermark = latest
    if unsupported:
        return sync_vms_full(partner=partner, client=session.client, pacer=session.pacer)
    return run


def _check_updated_since(since: datetime, page: novacron.Page[novacron.VM]) -> None:
    """Raise when the first page of an `updated_since` list shows NovaCron ignored the filter."""
    # A second's slack: a NovaCron that keeps coarser stamps than ours may round `since` down.
    cutoff = since - FILTER_PRECISION
    older = [vm.vm_id for vm in page.data if vm.updated_at is not None and vm.updated_at < cutoff]
    if older:
        raise UpdatedSinceUnsupported(
            f"NovaCron listed {len(older)} VMs updated before updated_since={since.isoformat()} "
            "(the filter is an extension it does not apply): a full reconciliation runs instead"
        )


def sync_vms_full(
    *, partner: Partner, client: novacron.Client | None = None, pacer: SyncPacer | None = None
) -> SyncRun:
    """Every VM, streamed page by page, then a sweep of the cached VMs NovaCron did not list.

    Seen VMs are marked by `synced_at` (a column, not a set in memory), so memory stays flat whatever
    the fleet size. Tombstones are requested too: a VM deleted mid-run then stays in place in
    NovaCron's stable order instead of shifting later VMs onto a page already read, which would leave
    them unmarked and wrongly swept.
    """
    session = open_session(partner, client=client, pacer=pacer)
    with recorded_run(partner, SyncRun.Kind.VMS_FULL, session) as run:
        _sync_clusters(partner, session)
        # Rows written from here on (by this run, a webhook or an action) count as seen.
        sweep_before = timezone.now()
        options = VMListOptions(include_deleted=True, limit=PAGE_SIZE)
        latest: datetime | None = None
        with publishing.fleet_counts_once(partner=partner):
            for page in _vm_pages(session, options):
                stored = store_vms(partner=partner, vms=page)
                run.items += stored.stored
                run.deleted += stored.deleted
                if stored.latest_update and (latest is None or stored.latest_update > latest):
                    latest = stored.latest_update
            run.deleted += sweep_vms(partner=partner, unseen_since=sweep_before)
        _sync_migrations(partner, session)
        run.watermark = latest or last_watermark(partner) or sweep_before
    return run


def _vm_pages(
    session: SyncSession,
    options: VMListOptions,
    *,
    first_page_check: Callable[[novacron.Page[novacron.VM]], None] | None = None,
) -> Iterator[list[novacron.VM]]:
    """Pages of VMs, one paced request each, the next one fetched while the caller stores this one.

    NovaCron's answer time and the cache's write time overlap instead of adding up; at most two pages
    are held in memory (the one being stored and the one arriving). Requests stay one at a time, in
    page order, on one thread, so pacing and the client are used as before.
    """

    def fetch(number: int) -> novacron.Page[novacron.VM]:
        try:
            return session.call(partial(session.client.list_vms, options, page=number))
        except ValidationError as error:
            if options.updated_since is not None and "updated_since" in f"{error} {error.details}":
                raise UpdatedSinceUnsupported(f"NovaCron refused updated_since: {error}") from error
            raise

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pages") as fetcher:
        arriving = fetcher.submit(fetch, 1)
        page_number = 1
        while True:
            page = arriving.result()
            if page_number == 1 and first_page_check is not None:
                first_page_check(page)
            more = bool(page.has_more and page.data)
            if more:
                page_number += 1
                arriving = fetcher.submit(fetch, page_number)
            if page.data:
                yield page.data
            if not more:
                return


def _sync_clusters(partner: Partner, session: SyncSession) -> None:
    clusters = session.call(session.client.list_clusters)
    store_clusters(partner=partner, clusters=clusters)


def _sync_migrations(partner: Partner, session: SyncSession) -> None:
    """Active migrations (every one) and the most recent ones, as a poll fallback for late webhooks."""
    for status in ACTIVE_MIGRATION_STATUSES:
        page_number = 1
        while True:
            page = session.call(
                partial(session.client.list_migrations, status=status, page=page_number, limit=PAGE_SIZE)
            )
            store_migrations(partner=partner, migrations=page.data)
            if not page.has_more or not page.data:
                break
            page_number += 1
    recent = session.call(partial(session.client.list_migrations, page=1, limit=RECENT_MIGRATIONS))
    store_migrations(partner=partner, migrations=recent.data)


def partners_to_sync() -> list[Partner]:
    """Partners whose HMAC credentials are set up (the encrypted fields can't be filtered in SQL)."""
    return [partner for partner in Partner.objects.all() if partner.api_key and partner.api_secret]
