"""Receiving NovaCron's webhooks and applying them to the cache.

Receipt is cheap and answers at once: verify, store, enqueue. Processing (in Celery) updates the
cached VMs and migrations, never moving them backwards, turns alerts into notifications and
publishes the changed fragments to the partner's open pages. Processing an event twice changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from novacron import webhooks as novacron_webhooks
from novacron.errors import SignatureVerificationError

from lib.debounce import run_soon
from lib.times import rendered_in_utc
from live.services import publish
from partners.models import Partner
from vms import publishing
from vms.cache import store_migration, store_vm, store_vm_events
from vms.metrics import METRIC_LABELS
from vms.models import VM
from vms.quota_gauges import quota_refresh_soon
from webhooks.models import Notification, WebhookEvent, WebhookRejection
from webhooks.throttle import refusal_count
from webhooks.topics import NOTIFICATION_TOPIC

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024

VM_EVENTS = frozenset({"vm.created", "vm.started", "vm.stopped", "vm.deleted"})
MIGRATION_EVENTS = frozenset(
    {
        "migration.started",
        "migration.progress",
        "migration.completed",
        "migration.failed",
        "migration.cancelled",  # the contract's extension, sent beside the cancellation's progress event
    }
)
NOTIFICATION_EVENTS = frozenset({"alert.critical", "quota.exceeded"})
KNOWN_EVENTS = VM_EVENTS | MIGRATION_EVENTS | NOTIFICATION_EVENTS


class WebhookRefused(Exception):
    """The delivery is not accepted; `reason` is a WebhookRejection.Reason."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Receipt:
    event: WebhookEvent
    created: bool


# --- the received-webhooks log -------------------------------------------------------------------

# The log page (webhooks/delivery_log.py) is refreshed by re-rendering its last 50 rows: that costs
# about 40 stores of an event, too much for the receiver's hot path or for every event of a burst in
# the worker. So a change only *schedules* a refresh: the first change for a partner opens a window
# and queues one publish for after the window has closed; a change inside the window is committed
# before that publish renders, so it is covered. At most one render per partner per window, and the
# last change always reaches the page. (With eager Celery the publish runs at once: changes later in
# the window then wait for the page's own 5-second poll.)
WEBHOOK_LOG_WINDOW_SECONDS = 1
WEBHOOK_LOG_PUBLISH_DELAY_SECONDS = 1.5  # longer than the window: it renders after the window closed


# Tasks of webhooks.tasks that this module queues, looked up by name in Celery's registry because
# webhooks.tasks imports this module (WebhooksConfig.ready loads it, so the names are registered).
PROCESS_EVENT_TASK = "webhooks.process_webhook_event"
PUBLISH_LOG_TASK = "webhooks.publish_webhook_log"


def webhook_log_refresh_soon(*, partner_pk: int) -> None:
    """Have the partner's open delivery-log pages refreshed within ~1.5 s (call after commit)."""
    run_soon(
        current_app.tasks[PUBLISH_LOG_TASK],
        name="webhook-log-refresh",
        key=partner_pk,
        window=WEBHOOK_LOG_WINDOW_SECONDS,
        delay=WEBHOOK_LOG_PUBLISH_DELAY_SECONDS,
    )


# --- the overview's quota cards ------------------------------------------------------------------

# Events after which NovaCron's quota usage has moved (a migration slot taken or freed, a VM created or
# deleted, a quota hit). The cards are refreshed by re-reading the quotas (two API calls), so, as for the
# log, a change only schedules a refresh: at most one per partner per window, run after it closes.
QUOTA_EVENTS = frozenset(
    {
        "migration.started",
        "migration.completed",
        "migration.failed",
        "migration.cancelled",
        "vm.created",
        "vm.deleted",
        "quota.exceeded",
    }
)


def event_changes_quota_usage(*, event_type: str, data: Mapping[str, Any]) -> bool:
    # A cancellation frees a migration slot: migration.cancelled, and the migration.progress with status
    # cancelled sent beside it (all a NovaCron without the extension sends).
    return event_type in QUOTA_EVENTS or (
        event_type == "migration.progress" and data.get("status") == "cancelled"
    )


# --- receipt ------------------------------------------------------------------------------------


def webhook_secrets(*, partner: Partner, now: datetime | None = None) -> list[str]:
    """The secrets a delivery may be signed with: the current one, and the previous one until it expires."""
    now = now or timezone.now()
    secrets = [partner.webhook_secret] if partner.webhook_secret else []
    expires_at = partner.previous_webhook_secret_expires_at
    if partner.previous_webhook_secret and expires_at is not None and expires_at > now:
        secrets.append(partner.previous_webhook_secret)
    return secrets


def webhook_rejection_record(
    *, partner: Partner | None, reason: str, remote_addr: str | None, now: datetime | None = None
) -> None:
    """Count a refused delivery in its (partner, reason, minute) row, with its source address. Never
    its body, and never a row of its own: a flood adds to a count (one write), not to the table."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    buckets = WebhookRejection.objects.filter(partner=partner, reason=reason, minute=minute)
    with _serialized_if_sqlite(), transaction.atomic():
        bucket = buckets.select_for_update().first()
        if bucket is None:
            try:
                with transaction.atomic():
                    WebhookRejection.objects.create(
                        partner=partner,
                        reason=reason,
                        minute=minute,
                        count=1,
                        last_at=now,
                        last_addresses=[remote_addr] if remote_addr else [],
                    )
            except IntegrityError:
                # Another process made the minute's row first: add to it.
                bucket = buckets.select_for_update().get()
        if bucket is not None:
            addresses = list(bucket.last_addresses or [])
            if remote_addr:
                addresses = [remote_addr, *(a for a in addresses if a != remote_addr)]
            # The count is incremented in SQL: exact even when two writers read the row at once.
            buckets.filter(pk=bucket.pk).update(
                count=F("count") + 1,
                last_at=now,
                last_addresses=addresses[: WebhookRejection.ADDRESSES_KEPT],
            )
        if partner is not None:
            partner_pk = partner.pk
            transaction.on_commit(lambda: webhook_log_refresh_soon(partner_pk=partner_pk))


def webhook_verify(
    *, partner: Partner, body: bytes, headers: Mapping[str, str], now: datetime | None = None
) -> dict[str, Any]:
    """The verified, parsed payload; raises WebhookRefused. Nothing is parsed before the signature matches.

    The signed `timestamp` must be within WEBHOOK_MAX_EVENT_AGE_SECONDS (the X-Webhook-Timestamp
    header is not signed, so it proves nothing)."""
    secrets = webhook_secrets(partner=partner)
    try:
        event = novacron_webhooks.construct_event(body, headers, secrets)
    except SignatureVerificationError as exc:
        if exc.code == "missing_signature":
            raise WebhookRefused(WebhookRejection.Reason.MISSING_SIGNATURE, 401) from exc
        if exc.code == "bad_signature" or not secrets:
            raise WebhookRefused(WebhookRejection.Reason.BAD_SIGNATURE, 401) from exc
        raise WebhookRefused(WebhookRejection.Reason.MALFORMED, 400) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        # Signed, JSON, but not shaped like an event (e.g. `data` is a list or a date is garbled).
        raise WebhookRefused(WebhookRejection.Reason.MALFORMED, 400) from exc
    if not event.event_id or not event.event_type or not isinstance(event.data, dict):
        raise WebhookRefused(WebhookRejection.Reason.MALFORMED, 400)
    if event.partner_id and event.partner_id != partner.partner_id:
        # Signed with this partner's secret but about another partner: refuse rather than guess.
        raise WebhookRefused(WebhookRejection.Reason.MALFORMED, 400)
    if event.timestamp is None:
        raise WebhookRefused(WebhookRejection.Reason.MALFORMED, 400)
    max_age = timedelta(seconds=settings.WEBHOOK_MAX_EVENT_AGE_SECONDS)
    if event.timestamp < (now or timezone.now()) - max_age:
        # Past NovaCron's retries: a replay (perhaps of an event whose id has since been pruned).
        raise WebhookRefused(WebhookRejection.Reason.TOO_OLD, 400)
    payload: dict[str, Any] = json.loads(body)  # an object: construct_event parsed it above
    return payload


# SQLite takes one writer at a time; writers of this process queue here instead of sleeping in
# SQLite's busy handler (whose back-off leaves the lock idle under bursts of webhooks).
_sqlite_writer = threading.Lock()


def _serialized_if_sqlite() -> contextlib.AbstractContextManager[object]:
    return _sqlite_writer if connection.vendor == "sqlite" else contextlib.nullcontext()


def webhook_event_store(
    *, partner: Partner, payload: dict[str, Any], enqueue: Callable[[int], None] | None = None
) -> Receipt:
    """Store a verified event once per event_id; a known type is handed to `enqueue` after commit.

    One INSERT: the unique (partner, event_id) constraint is what detects a redelivery.
    """
    event_id = str(payload["event_id"])
    event_type = str(payload["event_type"])
    data = payload.get("data") or {}
    # A subscription's "send test event" carries data.test = true: acknowledged, never applied to the cache.
    known = event_type in KNOWN_EVENTS and data.get("test") is not True
    # No transaction of its own: the one INSERT commits by itself, and BEGIN and COMMIT would be two
    # more round trips on the receiver's hot path. The enqueue still waits for that commit (on_commit
    # runs at once outside a transaction, and at the caller's commit inside one, where a savepoint
    # keeps a redelivery's IntegrityError from breaking the caller's transaction).
    in_transaction = connection.in_atomic_block
    try:
        with _serialized_if_sqlite(), transaction.atomic() if in_transaction else contextlib.nullcontext():
            event = WebhookEvent.objects.create(
                partner=partner,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                received_at=timezone.now(),
                status=WebhookEvent.Status.RECEIVED if known else WebhookEvent.Status.IGNORED,
            )
            if known and enqueue is not None:
                transaction.on_commit(lambda: enqueue(event.pk))
            # After the enqueue: the log refresh must never delay processing.
            transaction.on_commit(lambda: webhook_log_refresh_soon(partner_pk=partner.pk))
    except IntegrityError:
        # Already stored (a redelivery, or the same event arriving twice at once).
        return Receipt(WebhookEvent.objects.get(partner=partner, event_id=event_id), created=False)
    return Receipt(event, created=True)


@dataclass(frozen=True)
class DeliveryOutcome:
    status: int
    body: dict[str, Any]


def webhook_delivery_receive(
    *,
    partner_id: str,
    body: bytes | None,
    headers: Mapping[str, str],
    remote_addr: str | None,
    enqueue: Callable[[int], None] | None = None,
) -> DeliveryOutcome:
    """One delivery, start to answer (an unknown partner is a counted 404); `body` None means over the limit.

    Every refusal is counted twice, cheaply: per source address for the flood bound (webhooks.throttle,
    no database) and in its (partner, reason, minute) row for the received log."""
    # Only the fields verification needs: each encrypted field costs a decryption when loaded.
    partner = (
        Partner.objects.only(
            "pk",
            "partner_id",
            "webhook_secret",
            "previous_webhook_secret",
            "previous_webhook_secret_expires_at",
        )
        .filter(partner_id=partner_id)
        .first()
    )
    try:
        if partner is None:
            raise WebhookRefused(WebhookRejection.Reason.UNKNOWN_PARTNER, 404)
        if body is None:
            raise WebhookRefused(WebhookRejection.Reason.TOO_LARGE, 413)
        payload = webhook_verify(partner=partner, body=body, headers=headers)
    except WebhookRefused as refusal:
        # The flood bound first (no database): webhooks.throttle answers 429 once it is reached.
        refusal_count(remote_addr)
        webhook_rejection_record(partner=partner, reason=refusal.reason, remote_addr=remote_addr)
        return DeliveryOutcome(refusal.status, {"error": {"code": refusal.reason}})
    # `enqueue` runs after the receipt commits, on this thread (the writer's: its broker connection is warm).
    receipt = webhook_event_store(partner=partner, payload=payload, enqueue=enqueue)
    queued = receipt.created and receipt.event.status == WebhookEvent.Status.RECEIVED
    return DeliveryOutcome(
        202 if queued else 200, {"event_id": receipt.event.event_id, "status": receipt.event.status}
    )


# --- processing ---------------------------------------------------------------------------------


def vm_apply_event(*, partner: Partner, event_type: str, data: Mapping[str, Any]) -> VM | None:
    """Upsert (or, for vm.deleted, remove) the cached VM unless the cache already holds something newer.

    Returns the VM as now cached when it changed (status unsaved "deleted" for a removal), else None.
    """
    stored = store_vm(partner=partner, vm=data, deleted=event_type == "vm.deleted")
    return (stored.vm or stored.removed) if stored.changed else None


def _figure(value: Any, unit: str) -> str:
    """`95.3 %`, `420 Mbit/s`: one decimal at most, and the unit."""
    try:
        number = f"{float(value):.1f}".removesuffix(".0")
    except (TypeError, ValueError):
        number = str(value)
    return f"{number} {unit}".strip()


def _notification_text(*, partner: Partner, event_type: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """The title (what, where, how much) and the text (what it is measured against), never the same words.

    An alert on a VM names it as people know it (its cached name; its id when the portal has never
    seen it) and the page links to it (`data.resource_id`).
    """
    if event_type != "alert.critical":
        title = f"Quota exceeded: {data.get('quota', 'quota')} ({data.get('used')}/{data.get('limit')})"
        message = str(data.get("message") or "")
        return title, "" if message.strip().rstrip(".") in title else message
    metric = str(data.get("metric") or "metric")
    label, unit = METRIC_LABELS.get(metric, (metric.replace("_", " ").capitalize(), ""))
    resource = str(data.get("resource_id") or data.get("resource_type") or "a resource")
    if data.get("resource_type", "vm") == "vm":
        resource = (
            VM.objects.filter(partner=partner, vm_id=resource).values_list("name", flat=True).first()
            or resource
        )
    title = f"{label} at {_figure(data.get('value'), unit)} on {resource}"
    threshold = data.get("threshold")
    return title, f"Above the threshold of {_figure(threshold, unit)}." if threshold is not None else ""


def notification_from_event(*, event: WebhookEvent) -> Notification | None:
    """One notification per event (re-processing finds the existing one and returns None)."""
    data = event.payload.get("data") or {}
    title, message = _notification_text(partner=event.partner, event_type=event.event_type, data=data)
    notification, created = Notification.objects.get_or_create(
        partner=event.partner,
        source_event_id=event.event_id,
        defaults={
            "kind": event.event_type,
            "title": title[:200],
            "message": message,
            "data": dict(data),
            "created_at": timezone.now(),
        },
    )
    return notification if created else None


@rendered_in_utc
def notification_publish(*, notification: Notification) -> None:
    html = render_to_string("webhooks/_notification_toast.html", {"notification": notification})
    publish(partner=notification.partner, topic=NOTIFICATION_TOPIC, html=html)


def _apply(event: WebhookEvent) -> None:
    """Apply one event to the cache and publish what changed (inside the caller's transaction)."""
    data = event.payload.get("data") or {}
    # The cache publishes what a VM or migration event changed (vms.publishing), after commit.
    if event.event_type in VM_EVENTS:
        vm_apply_event(partner=event.partner, event_type=event.event_type, data=data)
    elif event.event_type in MIGRATION_EVENTS:
        store_migration(partner=event.partner, migration=data, from_event=True)
    elif event.event_type in NOTIFICATION_EVENTS:
        notification = notification_from_event(event=event)
        if notification is not None:
            notification_publish(notification=notification)


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Process a stored event once, in a batch with its partner's other waiting events.

    Each event has its own task, but the first of a burst to run claims the partner's oldest waiting
    events (up to WEBHOOK_PROCESS_BATCH_SIZE, in the order received, this one included) and applies
    them in one transaction: one claim, one status write and one publish of what changed, instead of
    one of each per event. The tasks of the events it took find them processed and return at once.
    One batch per partner at a time (the partner's row is locked), so a partner's events are applied
    in the order they arrived; other partners' batches run beside it.

    A processed or ignored event is left alone (idempotent). A failure is recorded on its event
    (status failed, error) and the others of the batch go on; this event's failure is re-raised for
    the task's retry, and another's is retried by that event's own task.
    """
    # Most tasks of a burst find their event done by an earlier one's batch: read no payload to see that.
    event = WebhookEvent.objects.defer("payload").get(pk=event_pk)
    while event.status in (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED):
        # More waiting than a batch holds, this one not among the oldest: they go first, then again.
        event, failure = _process_batch(partner_pk=event.partner_id, event_pk=event_pk)
        if failure is not None:
            raise failure
    return event


def _claim_batch(*, partner: Partner, event: WebhookEvent) -> list[WebhookEvent]:
    """The partner's oldest received events (and `event` itself when it is a retry), in order."""
    claimed = list(
        WebhookEvent.objects.select_for_update()
        .filter(partner=partner, status=WebhookEvent.Status.RECEIVED)
        .order_by("received_at", "pk")[: settings.WEBHOOK_PROCESS_BATCH_SIZE]
    )
    if event.status == WebhookEvent.Status.FAILED:
        claimed = sorted([event, *claimed], key=lambda e: (e.received_at, e.pk))
    return claimed


def _process_batch(*, partner_pk: int, event_pk: int) -> tuple[WebhookEvent, Exception | None]:
    """Apply one batch of the partner's events; `event_pk`'s event as it is now, and its failure if any."""
    failure: Exception | None = None
    quota_moved = False
    with transaction.atomic():
        # The partner's row serializes its batches. FOR NO KEY UPDATE, not FOR UPDATE: the rows the
        # batch and everyone else write meanwhile (a job's VM, an outbox event) check their foreign
        # key to the partner with FOR KEY SHARE, which FOR UPDATE blocks. A job item holding its
        # VM's row and waiting on that check, while the batch waits on the same VM, was a deadlock.
        partner = Partner.objects.select_for_update(no_key=True).get(pk=partner_pk)
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status not in (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED):
            return event, None  # a batch that held the partner before us took it
        batch = _claim_batch(partner=partner, event=event)
        for claimed in batch:
            claimed.partner = partner
        errors: dict[int, Exception | None] = {}
        with publishing.coalesced():
            for run in _runs(batch):
                errors.update(_apply_run(run))
        now = timezone.now()
        for claimed in batch:
            error = errors[claimed.pk]
            if claimed.pk == event_pk:
                event, failure = claimed, error
            quota_moved = quota_moved or (
                error is None
                and event_changes_quota_usage(
                    event_type=claimed.event_type, data=claimed.payload.get("data") or {}
                )
            )
        _record_outcomes(batch, errors, now=now)
        transaction.on_commit(lambda: webhook_log_refresh_soon(partner_pk=partner_pk))
        if quota_moved:
            transaction.on_commit(lambda: quota_refresh_soon(partner_pk=partner_pk))
    return event, failure


def _runs(batch: Sequence[WebhookEvent]) -> list[list[WebhookEvent]]:
    """The batch cut into runs: consecutive VM events together, every other event on its own."""
    runs: list[list[WebhookEvent]] = []
    for event in batch:
        if event.event_type in VM_EVENTS and runs and runs[-1][0].event_type in VM_EVENTS:
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


def _apply_run(run: Sequence[WebhookEvent]) -> dict[int, Exception | None]:
    """Apply a run of events, each one's error (None when applied).

    A run of VM events is written as one page (`store_vm_events`: the same outcome as one by one, in a
    few queries); when that fails, its events are applied one at a time, so the failure is recorded on
    the event that caused it and the others go on.
    """
    if len(run) > 1:
        try:
            with transaction.atomic():
                store_vm_events(
                    partner=run[0].partner,
                    events=[(e.payload.get("data") or {}, e.event_type == "vm.deleted") for e in run],
                )
        except Exception:
            logger.warning("a run of %d VM events failed as one page; applying them one by one", len(run))
        else:
            return {event.pk: None for event in run}
    return {event.pk: _apply_one(event) for event in run}


def _apply_one(event: WebhookEvent) -> Exception | None:
    """Apply one event in a savepoint of its own; its error, or None."""
    try:
        with transaction.atomic():
            _apply(event)
    except Exception as exc:
        logger.exception("webhook event %s failed", event.event_id)
        return exc
    return None


def _record_outcomes(
    batch: Sequence[WebhookEvent], errors: Mapping[int, Exception | None], *, now: datetime
) -> None:
    """Write each event's outcome: one UPDATE for all the applied ones, one per failure (rare)."""
    applied = [event for event in batch if errors[event.pk] is None]
    for event in batch:
        event.attempts += 1
        error = errors[event.pk]
        if error is None:
            event.status, event.error, event.processed_at = WebhookEvent.Status.PROCESSED, "", now
        else:
            event.status = WebhookEvent.Status.FAILED
            event.error = f"{type(error).__name__}: {error}"[:2000]
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=event.status, error=event.error, attempts=F("attempts") + 1
            )
    if applied:
        WebhookEvent.objects.filter(pk__in=[event.pk for event in applied]).update(
            status=WebhookEvent.Status.PROCESSED, error="", processed_at=now, attempts=F("attempts") + 1
        )


def webhook_events_pending(*, older_than: timedelta, partners: Sequence[Partner] | None = None) -> list[int]:
    """Stored events still unprocessed after `older_than` (their task was lost): ids, oldest first."""
    pending = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.RECEIVED, received_at__lt=timezone.now() - older_than
    )
    if partners is not None:
        pending = pending.filter(partner__in=partners)
    return list(pending.order_by("received_at").values_list("pk", flat=True))


@transaction.atomic
def notification_acknowledge(*, notification: Notification, user: Any) -> Notification:
    """Mark it seen by `user`; acknowledging twice keeps the first person and time."""
    if notification.acknowledged_at is None:
        notification.acknowledged_at = timezone.now()
        notification.acknowledged_by = user
        notification.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return notification


def webhook_event_reprocess(*, event: WebhookEvent) -> None:
    """Queue a stored event to be applied again (e.g. a failure past its retries, after a fix).

    Safe on any event: applying one again never moves the cache backwards and makes no second
    notification. Ignored events (unknown types, test deliveries) have nothing to apply.
    """
    if event.status == WebhookEvent.Status.IGNORED:
        return
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED, error="")
    event_pk = event.pk
    transaction.on_commit(lambda: current_app.tasks[PROCESS_EVENT_TASK].delay(event_pk))
