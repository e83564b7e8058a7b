"""Bulk actions as jobs: create one from a selection, run its items, cancel and retry.

Writes of jobs live here; reads in jobs/selectors.py. The items run in Celery (jobs/tasks.py) with the
partner's HMAC credentials, on behalf of the person who created the job (who is recorded on it):
the role and scope checks that person needs are the single-VM actions' own, made when the job is
created (jobs/views.py, `jobs.permissions`).

Execution stays inside three bounds:

- `JOBS_CONCURRENCY` items of a job in flight at once (`job_advance` claims items under a lock of the
  job's row, whichever worker asks);
- `JOBS_BUDGET_SHARE` of the partner's API budget (jobs/budget.py, shared by every worker);
- for migrations, the free slots of `migration_concurrent`: a migrate item holds its slot until the
  migration finishes, which the cache announces (`vms.cache.on_migration_finished`, fed by the
  migration webhooks and, when one is lost, by the poll), and the next item starts then.

Every request of an item carries the item's Idempotency-Key: a worker killed mid-request leaves the
item running, the redelivered task sends the same key again and NovaCron replays its first answer,
so nothing is done twice.

A job in a maintenance window (jobs/windows.py) is "scheduled" until its window opens (the beat's
tick starts it); inside the window an item is claimed only when its estimate ends by the window's
end, the others waiting for the next occurrence or skipped, as chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import batched
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from novacron.errors import (
    ConflictError,
    NotFoundError,
    NovaCronError,
    QuotaExceededError,
    RateLimitError,
)
from novacron.models import MigrationSpec

from jobs import publishing, windows
from jobs.budget import BudgetExhausted, JobsPacer
from jobs.eligibility import REASONS, Verdict, verdict
from jobs.models import Job, JobItem
from partners.clients import partner_client
from partners.models import Partner
from vms import publishing as vm_publishing
from vms.cache import forget_vm, store_migration, store_vm
from vms.migration_selectors import migration_active_list, migration_concurrency_quota
from vms.models import VM, Cluster, Migration
from vms.quota_gauges import quota_refresh_soon

logger = logging.getLogger(__name__)

ADVANCE_TASK = "jobs.advance"
RUN_ITEM_TASK = "jobs.run_item"
# A transient failure (NovaCron 5xx, no answer) is tried again this many times, with the same key.
MAX_TRANSIENT_TRIES = 5


# --- creation -----------------------------------------------------------------------------------


def job_create(
    *,
    partner: Partner,
    user: Any,
    kind: str,
    vms: Iterable[VM],
    filters: dict[str, Any],
    selection: str,
    parameters: dict[str, Any] | None = None,
    form_key: str = "",
    schedule: windows.Schedule | None = None,
    estimates: Mapping[str, float] | None = None,
    targets: Mapping[str, str] | None = None,
    skips: Mapping[str, tuple[str, str]] | None = None,
) -> Job:
    """Snapshot the selection as items (eligible ones pending, the others skipped with their reason)
    and queue the job. `vms` is read once, here: the job acts on the VMs that matched now.

    `form_key`: the asking form's Idempotency-Key; a second request with it gets the first's job.
    Migrate only: `targets` gives VMs their own target cluster (an evacuation), and `skips` the VMs
    a plan left out, with their (code, reason).
    `schedule`: its maintenance window (None: at once); `estimates`: the planner's seconds per VM id
    (a VM past the plan's reach gets its longest, the window's check erring on the safe side)."""
    if form_key and (existing := Job.objects.filter(partner=partner, form_key=form_key).first()):
        return existing
    plan = _ItemPlan(targets=dict(targets or {}), skips=dict(skips or {}))
    try:
        return _job_create(
            partner,
            user,
            kind,
            vms,
            filters,
            selection,
            dict(parameters or {}),
            form_key,
            schedule or windows.Schedule(),
            dict(estimates or {}),
            plan,
        )
    except IntegrityError:
        if not form_key:
            raise
        # The other click of a double click made it between our look and our insert.
        return Job.objects.get(partner=partner, form_key=form_key)


@dataclass(frozen=True)
class _ItemPlan:
    targets: dict[str, str]
    skips: dict[str, tuple[str, str]]


def _job_create(
    partner: Partner,
    user: Any,
    kind: str,
    vms: Iterable[VM],
    filters: dict[str, Any],
    selection: str,
    parameters: dict[str, Any],
    form_key: str,
    schedule: windows.Schedule,
    estimates: dict[str, float],
    plan: _ItemPlan,
) -> Job:
    target = None
    clusters: dict[str, Cluster] = {}
    if kind == Job.Kind.MIGRATE:
        clusters = {c.cluster_id: c for c in Cluster.objects.filter(partner=partner)}
        target = clusters.get(parameters.get("target_cluster") or "")
    migrating = set(migration_active_list(partner=partner).values_list("source_vm_id", flat=True))
    now = timezone.now()
    starts_at, finish_by = schedule.first_window(now)
    longest = max(estimates.values(), default=None)
    with transaction.atomic():
        job = Job.objects.create(
            partner=partner,
            kind=kind,
            status=Job.Status.SCHEDULED if starts_at and starts_at > now else Job.Status.RUNNING,
            created_by=user,
            created_by_email=getattr(user, "email", "") or "",
            created_at=now,
            parameters=parameters,
            filters=filters,
            selection=selection,
            form_key=form_key,
            starts_at=starts_at,
            finish_by=finish_by,
            window=schedule.as_json(),
        )
        items = []
        for position, vm in enumerate(vms):
            item_target = clusters.get(plan.targets[vm.vm_id]) if vm.vm_id in plan.targets else target
            if vm.vm_id in plan.skips:
                check = Verdict(False, *plan.skips[vm.vm_id])
            else:
                check = verdict(kind, vm, migrating=vm.vm_id in migrating, target=item_target)
            items.append(
                JobItem(
                    job=job,
                    vm_id=vm.vm_id,
                    vm_name=vm.name,
                    position=position,
                    target_cluster=plan.targets.get(vm.vm_id, ""),
                    status=JobItem.Status.PENDING if check.eligible else JobItem.Status.SKIPPED,
                    skip_code=check.code,
                    skip_reason=check.reason,
                    finished_at=None if check.eligible else now,
                    estimated_seconds=estimates.get(vm.vm_id, longest) if kind == Job.Kind.MIGRATE else None,
                )
            )
        for chunk in batched(items, 1000):
            JobItem.objects.bulk_create(chunk)
        if job.status == Job.Status.RUNNING:
            transaction.on_commit(lambda: queue_advance(job.pk))
    logger.info(
        "job %s (%s, %d items) created by user %s", job.job_id, kind, len(items), getattr(user, "pk", None)
    )
    return job


def queue_advance(job_pk: int, *, countdown: float = 0) -> None:
    current_app.tasks[ADVANCE_TASK].apply_async((job_pk,), countdown=countdown)


def _queue_item(item_pk: int, *, countdown: float = 0, tries: int = 0) -> None:
    current_app.tasks[RUN_ITEM_TASK].apply_async((item_pk, tries), countdown=countdown)


# --- claiming items within the bounds -------------------------------------------------------------


def _migration_slots_free(job: Job) -> int:
    """Free `migration_concurrent` slots: NovaCron's limit less the active migrations (cached, or
    NovaCron's count when higher), less the items claimed that have not started their migration yet."""
    quota = migration_concurrency_quota(partner=job.partner)
    if quota.limit is None:
        return settings.JOBS_CONCURRENCY
    claimed = JobItem.objects.filter(
        job__partner=job.partner, job__kind=Job.Kind.MIGRATE, status=JobItem.Status.RUNNING, migration_id=""
    ).count()
    return max(0, (quota.remaining or 0) - claimed)


def _in_window(job: Job, items: QuerySet[JobItem], now: datetime) -> QuerySet[JobItem]:
    """The pending items that may start now: all of them, or, inside a window, those whose estimate
    ends by its end. The others are skipped now, or, when they wait for the next occurrence, left
    pending (an item longer than a whole occurrence is skipped: it would wait for ever)."""
    pending = items.filter(status=JobItem.Status.PENDING)
    if job.finish_by is None:
        return pending
    estimate = Coalesce(F("estimated_seconds"), Value(windows.ACTION_ITEM_SECONDS))
    pending = pending.alias(estimate=estimate)
    left = (job.finish_by - now).total_seconds()
    weekly = windows.weekly_of(job.window)
    limit = weekly.length.total_seconds() if weekly is not None and windows.waits(job.window) else left
    hopeless = list(pending.filter(estimate__gt=limit).values_list("pk", flat=True))
    if hopeless:
        JobItem.objects.filter(pk__in=hopeless, status=JobItem.Status.PENDING).update(
            status=JobItem.Status.SKIPPED,
            skip_code="window",
            skip_reason=windows.late_reason(job.finish_by, job.window.get("time_zone", "UTC")),
            finished_at=now,
        )
        publishing.job_changed_soon(job)
    return pending.filter(estimate__lte=left)


def _wait_for_next_window(job: Job, now: datetime) -> bool:
    """Nothing left fits this occurrence: the job is scheduled again for the next one."""
    weekly = windows.weekly_of(job.window)
    if weekly is None or job.finish_by is None:
        return False
    job.starts_at, job.finish_by = weekly.occurrence(max(now, job.finish_by))
    job.status = Job.Status.SCHEDULED
    job.save(update_fields=["status", "starts_at", "finish_by"])
    publishing.job_changed_soon(job)
    logger.info("job %s waits for its next window at %s", job.job_id, job.starts_at.isoformat())
    return True


def job_advance(job_pk: int, *, now: datetime | None = None, keep: bool = False) -> list[int]:
    """Claim as many pending items as the bounds (and the window) allow and queue them; finish the
    job when all are settled, or schedule it for its window's next occurrence when the rest wait.

    Returns the claimed items' pks. Serialized per job by a lock on its row, so two workers asking at
    once never claim past the bounds. `keep`: the first item claimed is not queued, the caller (a
    worker that just finished an item, `item_run`) runs it itself.

    A migrate item whose migration has started is running at NovaCron, not in a worker: it holds its
    `migration_concurrent` slot, not one of the JOBS_CONCURRENCY requests in flight.
    """
    now = now or timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("partner").filter(pk=job_pk).first()
        if job is None or job.status != Job.Status.RUNNING:
            return []
        items = JobItem.objects.filter(job=job)
        startable = _in_window(job, items, now)
        running = items.filter(status=JobItem.Status.RUNNING)
        in_flight = running.filter(migration_id="") if job.kind == Job.Kind.MIGRATE else running
        free = settings.JOBS_CONCURRENCY - in_flight.count()
        if job.kind == Job.Kind.MIGRATE:
            free = min(free, _migration_slots_free(job))
        claimed: list[int] = []
        if free > 0:
            claimed = list(startable.order_by("position").values_list("pk", flat=True)[:free])
            if claimed:
                JobItem.objects.filter(pk__in=claimed, status=JobItem.Status.PENDING).update(
                    status=JobItem.Status.RUNNING, started_at=now
                )
        busy = running.exists()
        waiting = not claimed and not busy and items.filter(status=JobItem.Status.PENDING).exists()
        if waiting and not startable.exists():
            _wait_for_next_window(job, now)
        elif not claimed and not busy and not waiting:
            job.status = Job.Status.FINISHED
            job.finished_at = now
            job.save(update_fields=["status", "finished_at"])
            transaction.on_commit(lambda: job_finished(job))
        for pk in claimed[1:] if keep else claimed:
            transaction.on_commit(partial(_queue_item, pk))
        if claimed:
            publishing.job_changed_soon(job)
    return claimed


# --- one item -------------------------------------------------------------------------------------


def _settle(item: JobItem, status: str, **fields: Any) -> bool:
    """Move a running item to its outcome; False when it was not running any more (cancelled, or
    another delivery of the same task settled it first)."""
    fields.setdefault("finished_at", timezone.now())
    updated = JobItem.objects.filter(pk=item.pk, status=JobItem.Status.RUNNING).update(
        status=status, **fields
    )
    return bool(updated)


def _put_back(item: JobItem, *, new_attempt: bool = False) -> None:
    """Pending again (a slot, the budget or the rate limit said not now)."""
    changes: dict[str, Any] = {"status": JobItem.Status.PENDING, "started_at": None}
    if new_attempt:
        changes["attempt"] = item.attempt + 1
    JobItem.objects.filter(pk=item.pk, status=JobItem.Status.RUNNING).update(**changes)


def _error_fields(error: NovaCronError) -> dict[str, Any]:
    return {
        "error_code": (error.code or str(error.status or ""))[:64],
        "error_message": error.message,
        "request_id": (error.request_id or "")[:100],
    }


def _send(job: Job, item: JobItem, client: Any) -> Any:
    key = item.request_key
    if job.kind == Job.Kind.START:
        return client.start_vm(item.vm_id, idempotency_key=key)
    if job.kind == Job.Kind.STOP:
        return client.stop_vm(item.vm_id, idempotency_key=key)
    if job.kind == Job.Kind.DELETE:
        client.delete_vm(item.vm_id)  # DELETE is idempotent at NovaCron: a repeat is a 404
        return None
    parameters = job.parameters
    options: dict[str, Any] = {"verify_after_migration": bool(parameters.get("verify_after_migration", True))}
    if parameters.get("downtime_window_minutes"):
        options["downtime_window_minutes"] = int(parameters["downtime_window_minutes"])
    spec = MigrationSpec(
        source_vm_id=item.vm_id,
        target_cluster=item.target_cluster or parameters["target_cluster"],
        migration_type=parameters.get("migration_type", "live"),
        options=options,
    )
    return client.start_migration(spec, idempotency_key=key)


# Outcomes after which the worker goes on with the job's next item itself (the request is answered).
_GO_ON = frozenset({"done", "quota", "conflict", "gone", "failed", "migrating"})


def item_run(
    item_pk: int,
    *,
    client: Any = None,
    pacer: JobsPacer | None = None,
    tries: int = 0,
    lane: int | None = None,
) -> str:
    """Make an item's one request and record its outcome, then claim the job's next item and run it
    too, up to `lane` items (JOBS_LANE_ITEMS) before handing on to a fresh `jobs.advance` task.

    Going on in the same task is what keeps JOBS_CONCURRENCY requests in flight: each finished item
    would otherwise wait for two trips through the broker (advance, then its successor's task) before
    the next request goes. The bounds are claimed as before (`job_advance`, under the job's lock).
    Returns what happened to the last item run (for tests and logs)."""
    lane = settings.JOBS_LANE_ITEMS if lane is None else lane
    tools = _Tools(client, pacer)
    outcome, job_pk = _item_run_once(item_pk, tools=tools, tries=tries)
    for _ in range(max(0, lane - 1)):
        if job_pk is None:
            return outcome
        claimed = job_advance(job_pk, keep=True)
        if not claimed:
            return outcome
        outcome, job_pk = _item_run_once(claimed[0], tools=tools, tries=0)
    if job_pk is not None:
        queue_advance(job_pk)
    return outcome


class _Tools:
    """The partner's client and the jobs' pacer, made once per task and kept along its lane."""

    def __init__(self, client: Any, pacer: JobsPacer | None) -> None:
        self.client, self.pacer = client, pacer


def _item_run_once(item_pk: int, *, tools: _Tools, tries: int) -> tuple[str, int | None]:
    """One item's request and outcome; with the job's pk when the caller may go on to the next item."""
    item = JobItem.objects.select_related("job", "job__partner").filter(pk=item_pk).first()
    if item is None or item.status != JobItem.Status.RUNNING:
        return "not running", None
    job = item.job
    partner = job.partner
    if job.kind == Job.Kind.MIGRATE and item.migration_id:
        return "migrating", None  # started before a worker died: its migration's end settles it
    if tools.client is None:
        tools.client = partner_client(partner, max_retries=0)
    if tools.pacer is None:
        tools.pacer = JobsPacer(partner=partner)
    # The VM's own fragments go out at once; the fleet's counts once a second for all the items.
    with vm_publishing.fleet_counts_once(partner=partner, soon=True):
        return _item_request(job, item, tools.client, tools.pacer, tries)


def _item_request(
    job: Job, item: JobItem, client: Any, pacer: JobsPacer, tries: int
) -> tuple[str, int | None]:
    partner = job.partner
    try:
        pacer.acquire()
    except BudgetExhausted:
        _put_back(item)
        queue_advance(job.pk, countdown=5)
        return "budget", None
    outcome = "done"
    try:
        answer = _send(job, item, client)
    except RateLimitError as error:
        _put_back(item)  # a 429 is never stored under the key: the same key is sent again later
        queue_advance(job.pk, countdown=max(error.retry_after, 1.0))
        outcome = "rate limited"
    except QuotaExceededError as error:
        if job.kind == Job.Kind.MIGRATE:
            # No slot after all (someone else started one): wait for the next to free. NovaCron keeps
            # this refusal under the key, so the next try is a new attempt.
            _put_back(item, new_attempt=True)
            quota_refresh_soon(partner_pk=partner.pk)
            queue_advance(job.pk, countdown=settings.JOBS_RETRY_SECONDS)
            outcome = "waiting for a slot"
        else:
            numbers = f" ({error.used} of {error.limit} used)" if error.limit is not None else ""
            _settle(
                item,
                JobItem.Status.SKIPPED,
                skip_code="quota",
                skip_reason=f"{error.message}{numbers}"[:300],
                **_error_fields(error),
            )
            outcome = "quota"
    except ConflictError as error:
        if error.details.get("in_progress"):
            # The same key is still being answered (another delivery of this task): ask again soon.
            _queue_item(item.pk, countdown=2)
            return "in flight", None
        _settle(
            item,
            JobItem.Status.SKIPPED,
            skip_code="conflict",
            skip_reason=error.message[:300],
            **_error_fields(error),
        )
        outcome = "conflict"
    except NotFoundError as error:
        if job.kind == Job.Kind.DELETE:
            forget_vm(partner=partner, vm_id=item.vm_id)
        _settle(
            item,
            JobItem.Status.SKIPPED,
            skip_code="gone",
            skip_reason=REASONS["gone"],
            **_error_fields(error),
        )
        outcome = "gone"
    except NovaCronError as error:
        if (error.status is None or error.status >= 500) and tries + 1 < MAX_TRANSIENT_TRIES:
            _queue_item(item.pk, countdown=settings.JOBS_RETRY_SECONDS * (tries + 1), tries=tries + 1)
            return "transient", None
        _settle(item, JobItem.Status.FAILED, **_error_fields(error))
        outcome = "failed"
    else:
        pacer.hold_back(
            getattr(client.rate_limit, "remaining", None) if hasattr(client, "rate_limit") else None
        )
        outcome = _record_answer(job, item, answer)
    publishing.job_changed_soon(job)
    # Put back for later (rate limited, no migration slot): its delayed advance is queued already.
    return outcome, job.pk if outcome in _GO_ON else None


def _record_answer(job: Job, item: JobItem, answer: Any) -> str:
    partner = job.partner
    if job.kind == Job.Kind.DELETE:
        forget_vm(partner=partner, vm_id=item.vm_id)
        quota_refresh_soon(partner_pk=partner.pk)
        _settle(item, JobItem.Status.DONE)
        return "done"
    if job.kind == Job.Kind.MIGRATE:
        migration, _, _ = store_migration(partner=partner, migration=answer)
        JobItem.objects.filter(pk=item.pk).update(migration_id=migration.migration_id)
        quota_refresh_soon(partner_pk=partner.pk)
        if migration.status in Migration.FINISHED:  # a replayed answer of a migration long done
            _settle_migration(item, migration)
            return "done"
        return "migrating"
    store_vm(partner=partner, vm=answer)
    _settle(item, JobItem.Status.DONE)
    return "done"


# --- migrations finishing -------------------------------------------------------------------------


def _settle_migration(item: JobItem, migration: Migration) -> None:
    if migration.status == Migration.Status.COMPLETED:
        _settle(item, JobItem.Status.DONE)
    elif migration.status == Migration.Status.CANCELLED:
        _settle(
            item, JobItem.Status.SKIPPED, skip_code="cancelled", skip_reason="The migration was cancelled."
        )
    else:
        _settle(
            item,
            JobItem.Status.FAILED,
            error_code="migration_failed",
            error_message=migration.error or "The migration failed.",
        )


def migration_slot_freed(partner: Partner, migration: Migration) -> None:
    """A migration of the partner finished (webhook or poll): settle its item, refill the slots of
    every migrate job of the partner that has items waiting."""
    for item in JobItem.objects.select_related("job").filter(
        job__partner=partner, migration_id=migration.migration_id, status=JobItem.Status.RUNNING
    ):
        _settle_migration(item, migration)
        publishing.job_changed_soon(item.job)
    waiting = Job.objects.filter(partner=partner, kind=Job.Kind.MIGRATE, status=Job.Status.RUNNING)
    for job_pk in waiting.values_list("pk", flat=True):
        try:
            queue_advance(job_pk)
        except Exception:  # the beat's tick catches up; a webhook's processing must not fail for it
            logger.warning("could not queue job %s after a migration finished", job_pk, exc_info=True)


# --- the beat's safety net ------------------------------------------------------------------------


def job_start_scheduled(job_pk: int, *, now: datetime | None = None) -> bool:
    """A scheduled job whose window has opened runs. One whose whole window went by unseen (no beat
    for hours) waits for the next occurrence when it recurs; a one-off starts, late items being
    handled as the person chose. True when it started."""
    now = now or timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_pk, status=Job.Status.SCHEDULED).first()
        if job is None or (job.starts_at is not None and job.starts_at > now):
            return False
        weekly = windows.weekly_of(job.window)
        if weekly is not None and job.finish_by is not None and job.finish_by <= now:
            job.starts_at, job.finish_by = weekly.occurrence(now)
            if job.starts_at > now:
                job.save(update_fields=["starts_at", "finish_by"])
                return False
        job.status = Job.Status.RUNNING
        job.save(update_fields=["status", "starts_at", "finish_by"])
        logger.info("job %s: its window opened", job.job_id)
        transaction.on_commit(lambda: queue_advance(job.pk))
        publishing.job_changed_soon(job)
    return True


def jobs_tick(*, now: Any = None) -> int:
    """Scheduled jobs whose window opened start; every running job is advanced, items whose task was
    lost (a worker died and its task did not come back) are queued again with the same key, and
    migrate items whose migration the cache holds as finished are settled (should its announcement
    have been missed). Returns the items queued again."""
    now = now or timezone.now()
    due = Job.objects.filter(status=Job.Status.SCHEDULED, starts_at__lte=now)
    for job_pk in due.values_list("pk", flat=True):
        job_start_scheduled(job_pk, now=now)
    stalled_before = now - timedelta(seconds=settings.JOBS_STALL_SECONDS)
    requeued = 0
    # Items whose migration the cache knows finished, however it learnt it: settled, slots freed.
    waiting = JobItem.objects.filter(
        job__status=Job.Status.RUNNING, job__kind=Job.Kind.MIGRATE, status=JobItem.Status.RUNNING
    ).exclude(migration_id="")
    for item in waiting.select_related("job", "job__partner"):
        migration = Migration.objects.filter(
            partner=item.job.partner, migration_id=item.migration_id, status__in=Migration.FINISHED
        ).first()
        if migration is not None:
            _settle_migration(item, migration)
            publishing.job_changed_soon(item.job)
    for job_pk in Job.objects.filter(status=Job.Status.RUNNING).values_list("pk", flat=True):
        stalled = JobItem.objects.filter(
            job_id=job_pk, status=JobItem.Status.RUNNING, migration_id="", started_at__lt=stalled_before
        )
        for pk in stalled.values_list("pk", flat=True):
            JobItem.objects.filter(pk=pk).update(started_at=now)
            _queue_item(pk)
            requeued += 1
        queue_advance(job_pk)
    return requeued


# --- cancel and retry ------------------------------------------------------------------------------


def job_cancel(*, job: Job, cancel_migrations: bool = False) -> int:
    """Skip the pending items (a scheduled job's are all pending); running ones finish (their request
    is sent). With `cancel_migrations`, running migrations are cancelled at NovaCron too. Returns the
    items skipped."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        skipped = JobItem.objects.filter(job=job, status=JobItem.Status.PENDING).update(
            status=JobItem.Status.SKIPPED,
            skip_code="cancelled",
            skip_reason=REASONS["cancelled"],
            finished_at=timezone.now(),
        )
        if job.is_open:
            job.status = Job.Status.CANCELLED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
        if cancel_migrations and job.kind == Job.Kind.MIGRATE:
            transaction.on_commit(lambda: current_app.tasks["jobs.cancel_migrations"].delay(job.pk))
        publishing.job_changed_soon(job)
    return skipped


def job_cancel_migrations(job_pk: int, *, client: Any = None) -> int:
    job = Job.objects.select_related("partner").get(pk=job_pk)
    client = client or partner_client(job.partner, max_retries=1)
    pacer = JobsPacer(partner=job.partner)
    cancelled = 0
    running = JobItem.objects.filter(job=job, status=JobItem.Status.RUNNING).exclude(migration_id="")
    for item in running:
        pacer.acquire()
        try:
            answer = client.cancel_migration(item.migration_id, idempotency_key=f"{item.request_key}-cancel")
        except NovaCronError as error:
            logger.info("job %s: could not cancel %s: %s", job.job_id, item.migration_id, error.message)
            continue
        store_migration(partner=job.partner, migration=answer)  # its end settles the item
        cancelled += 1
    return cancelled


def job_retry(*, job: Job) -> int:
    """Failed items run again, each as a new attempt (a new key: NovaCron would replay the failure)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        failed = list(JobItem.objects.filter(job=job, status=JobItem.Status.FAILED))
        for item in failed:
            item.status = JobItem.Status.PENDING
            item.attempt += 1
            item.error_code = item.error_message = item.request_id = item.migration_id = ""
            item.started_at = item.finished_at = None
        JobItem.objects.bulk_update(
            failed,
            [
                "status",
                "attempt",
                "error_code",
                "error_message",
                "request_id",
                "migration_id",
                "started_at",
                "finished_at",
            ],
        )
        if failed and job.status == Job.Status.SCHEDULED:
            publishing.job_changed_soon(job)  # they run in the job's next window
        elif failed:
            job.status = Job.Status.RUNNING
            job.finished_at = None
            job.notified = False
            job.save(update_fields=["status", "finished_at", "notified"])
            transaction.on_commit(lambda: queue_advance(job.pk))
            publishing.job_changed_soon(job)
    return len(failed)


# --- the end ---------------------------------------------------------------------------------------


def job_finished(job: Job) -> None:
    """Publish the final progress and tell the partner once: finished, or finished with failures."""
    publishing.job_changed(job)
    if Job.objects.filter(pk=job.pk, notified=False).update(notified=True):
        publishing.job_notify(job)
