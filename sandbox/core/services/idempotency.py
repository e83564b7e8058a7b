"""Idempotency-Key on POSTs: the first answer is stored 24 h per partner and replayed for repeats."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from sandbox.api.errors import Conflict, ValidationFailed
from sandbox.core.models import IdempotencyRecord, Partner

RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class PendingIdempotency:
    partner_id: str
    key: str
    fingerprint: str


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
    """None without a key; raises IdempotentReplay for a repeat, Conflict for a reused key."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None:
        return None
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.on("Idempotency-Key", "must be 1 to 255 characters")
    fingerprint = fingerprint_of(request)
    record = IdempotencyRecord.objects.filter(
        partner=partner, key=key, created_at__gte=timezone.now() - RETENTION
    ).first()
    if record is None:
        return PendingIdempotency(partner.partner_id, key, fingerprint)
    if record.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was used with a different request.", details={"key": key})
    raise IdempotentReplay(record.status_code, record.response_body)


def idempotency_store(*, pending: PendingIdempotency, status_code: int, body: str) -> None:
    IdempotencyRecord.objects.filter(
        partner_id=pending.partner_id, key=pending.key, created_at__lt=timezone.now() - RETENTION
    ).delete()
    # A concurrent request with the same key may have stored its answer first; that one stands.
    with contextlib.suppress(IntegrityError), transaction.atomic():
        IdempotencyRecord.objects.create(
            partner_id=pending.partner_id,
            key=pending.key,
            request_fingerprint=pending.fingerprint,
            status_code=status_code,
            response_body=body,
        )
