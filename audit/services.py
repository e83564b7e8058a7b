"""Writing the audit log: one row per recorded write, and retention pruning (itself recorded)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AuditEntry
from lib.logs import request_id as current_request_id

PRUNE_ACTION = "audit.prune"
PRUNE_BATCH_SIZE = 5000


def client_address(request: HttpRequest) -> str | None:
    """The person's address as the rest of the portal sees it (accounts.lockout, webhooks.throttle):
    REMOTE_ADDR, which uvicorn's --proxy-headers --forwarded-allow-ips has set from the trusted proxy's
    X-Forwarded-For. Never the header as sent: anyone can write it."""
    address: str | None = request.META.get("REMOTE_ADDR") or None
    return address


def entry_record(
    *,
    request: HttpRequest | None,
    actor: Any,
    action: str,
    outcome: str,
    partner: Any = None,
    object_type: str = "",
    object_id: str = "",
    object_link: str = "",
    parameters: dict[str, Any] | None = None,
    error_code: str = "",
    novacron_request_id: str = "",
    reason: str = "",
    actor_label: str = "",
) -> AuditEntry:
    """Append one row. The partner is the person's unless given (an admin change of a partner's object).
    `actor_label` names someone who has no account here (a failed sign-in), when nobody signed in acted.

    Written in the caller's transaction when there is one (a write rolled back is then not recorded as
    done); views run in autocommit, where the row lands at once.
    """
    person = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if partner is None and person is not None:
        partner = getattr(person, "partner", None)
    return AuditEntry.objects.create(
        partner=partner,
        actor=person,
        actor_label=(
            (getattr(person, "email", "") or getattr(person, "username", "")) if person else actor_label
        )[:254],
        actor_role=getattr(person, "role", "") if person else "",
        address=client_address(request) if request is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id[:128],
        object_link=object_link[:300],
        parameters=parameters or {},
        outcome=outcome,
        error_code=error_code[:64],
        novacron_request_id=novacron_request_id[:128],
        reason=reason[:500],
        request_id=(current_request_id.get() or "")[:64],
    )


def _delete_batch(ids: list[int]) -> None:
    """The one DELETE of audit rows there is. On PostgreSQL the trigger lets it through only with
    `audit.pruning` set for this transaction."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('audit.pruning', 'on', true)")
        placeholders = ", ".join(["%s"] * len(ids))
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({placeholders})", ids)  # noqa: S608


def entries_prune(*, older_than: timedelta) -> int:
    """Delete rows older than the retention, a batch at a time; record, per partner, how many went."""
    cutoff = timezone.now() - older_than
    old = AuditEntry.objects.filter(created_at__lt=cutoff).exclude(action=PRUNE_ACTION)
    removed: dict[int | None, int] = {}
    while True:
        batch = list(old.order_by("created_at", "id").values_list("id", "partner_id")[:PRUNE_BATCH_SIZE])
        if not batch:
            break
        _delete_batch([entry_id for entry_id, _ in batch])
        for _, partner_id in batch:
            removed[partner_id] = removed.get(partner_id, 0) + 1
    # The record of a pruning is pruned too, once it is itself past the retention.
    stale_records = list(
        AuditEntry.objects.filter(created_at__lt=cutoff, action=PRUNE_ACTION).values_list("id", flat=True)
    )
    if stale_records:
        _delete_batch(stale_records)
    for partner_pk, count in removed.items():
        AuditEntry.objects.create(
            partner_id=partner_pk,
            action=PRUNE_ACTION,
            object_type="audit log",
            parameters={
                "removed": count,
                "older_than": cutoff.isoformat(),
                "retention_days": older_than.days,
            },
            outcome=AuditEntry.Outcome.SUCCESS,
            reason=f"retention pruning removed {count} entries older than {older_than.days} days",
        )
    return sum(removed.values())
