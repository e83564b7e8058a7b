"""Idempotency-Key on POSTs: the key is reserved before the work, the answer stored 24 h per partner.

The reservation is a row inserted first, under the unique constraint (partner, key), in its own
committed transaction, so on SQLite and PostgreSQL alike exactly one request of a race wins it. The
others find the row: the finished answer is replayed, a reservation still in progress is 409. An
answer that is not kept (5xx, 429) releases the reservation so a retry can do the work; a
reservation left behind by a process that died is taken over after RESERVATION_TIMEOUT.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from sandbox.api.errors import Conflict, ValidationFailed
from sandbox.core.models import IdempotencyRecord, Partner

RETENTION = timedelta(hours=24)
# Longer than any request may run; an older reservation without an answer lost its process.
RESERVATION_TIMEOUT = timedelta(minutes=2)


@dataclass(frozen=True)
class PendingIdempotency:
    partner_id: str
    key: str
    fingerprint: str
    record_id: int


class IdempotentReplay(Exception):
    def __init__(self, status_code: int, body: str) -> None:
        super().__init__("replay")
        self.status_code = status_code
        self.body = body


def fingerprint_of(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{request.method}:{request.path}:".encode())
    digest.update(request.body or b"")
    return digest.hexdigest()


def idempotency_begin(*, request: HttpRequest, partner: Partner) -> PendingIdempotency | None:
    """None without a key; the reservation when this request won the key.

    Raises IdempotentReplay for a repeat of a finished request, Conflict for a key reused with
    another request or one whose first request is still running.
    """
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None:
        return None
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.on("Idempotency-Key", "must be 1 to 255 characters")
    fingerprint = fingerprint_of(request)
    for _ in range(2):  # a second go only after clearing an expired or abandoned row
        record_id = _reserve(partner=partner, key=key, fingerprint=fingerprint)
        if record_id is not None:
            return PendingIdempotency(partner.partner_id, key, fingerprint, record_id)
        record = IdempotencyRecord.objects.filter(partner=partner, key=key).first()
        if record is None:  # released between our insert and this read: try again
            continue
        now = timezone.now()
        if record.created_at < now - RETENTION or (
            record.status_code is None and record.created_at < now - RESERVATION_TIMEOUT
        ):
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.request_fingerprint != fingerprint:
            raise Conflict("This Idempotency-Key was used with a different request.", details={"key": key})
        if record.status_code is None:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress; retry later.",
                details={"key": key, "in_progress": True},
            )
        raise IdempotentReplay(record.status_code, record.response_body)
    raise Conflict(
        "This Idempotency-Key is contended; retry later.", details={"key": key, "in_progress": True}
    )


def _reserve(*, partner: Partner, key: str, fingerprint: str) -> int | None:
    """The new reservation's id, or None when the key already has a row."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                partner=partner, key=key, request_fingerprint=fingerprint, status_code=None, response_body=""
            )
    except IntegrityError:
        return None
    return record.pk


def idempotency_store(*, pending: PendingIdempotency, status_code: int, body: str) -> None:
    """The answer replayed from now on, in place of the reservation."""
    IdempotencyRecord.objects.filter(pk=pending.record_id, status_code__isnull=True).update(
        status_code=status_code, response_body=body
    )


def idempotency_release(*, pending: PendingIdempotency) -> None:
    """Forget a reservation whose answer is not kept (a retry of the request will do the work)."""
    IdempotencyRecord.objects.filter(pk=pending.record_id, status_code__isnull=True).delete()
