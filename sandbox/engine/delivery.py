"""Webhook delivery: signed POSTs, 10 s timeout, retries with backoff and jitter, every attempt recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox.core.egress import ForbiddenTarget, Target, resolve_target
from sandbox.core.models import Delivery, DeliveryAttempt
from sandbox.core.services.events import webhook_payload
from sandbox.engine import faults

BATCH = 50
EXCERPT_CHARS = 500
_jitter = random.Random()


@dataclass(frozen=True)
class Outcome:
    status: int | None
    latency_ms: int
    excerpt: str
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature_of(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay_seconds(attempt: int) -> float:
    """Delay before the attempt after `attempt` (1-based): the schedule's step, ±20 % jitter."""
    schedule = list(settings.SANDBOX_WEBHOOK_RETRY_SCHEDULE) or [1]
    base = float(schedule[min(attempt - 1, len(schedule) - 1)])
    return base * _jitter.uniform(0.8, 1.2)


def build_request(delivery: Delivery) -> tuple[str, bytes, dict[str, str]]:
    event = delivery.event
    body = json.dumps(webhook_payload(event), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "NovaCron-Webhooks/1.0 (sandbox)",
        "X-Webhook-Signature": signature_of(delivery.subscription.secret, body),
        "X-Webhook-Event": event.event_type,
        "X-Webhook-ID": event.event_id,
        "X-Webhook-Timestamp": str(int(time.time())),
    }
    return delivery.subscription.url, body, headers


def send(url: str, body: bytes, headers: dict[str, str], *, copies: int = 1) -> Outcome:
    timeout = float(settings.SANDBOX_WEBHOOK_TIMEOUT_SECONDS)
    outcome = Outcome(None, 0, "", "not sent")
    for _ in range(copies):
        started = time.monotonic()
        try:
            # Resolved and checked on every attempt; the connection goes to the checked address.
            target = resolve_target(url)
        except ForbiddenTarget as exc:
            return Outcome(None, 0, "", f"refused: {exc}")
        try:
            status, excerpt = _post(target, body, headers, timeout)
        except urllib3.exceptions.TimeoutError:
            outcome = Outcome(None, _ms_since(started), "", f"timeout after {timeout:g} s")
        except urllib3.exceptions.HTTPError as exc:
            outcome = Outcome(None, _ms_since(started), "", f"connection error: {type(exc).__name__}")
        else:
            outcome = Outcome(status, _ms_since(started), excerpt, None)
    return outcome


def _post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST to the checked address, naming the URL's host (Host header, TLS name); no redirects."""
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, timeout=limits, retries=False, maxsize=1,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=limits, retries=False, maxsize=1
        )
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host:  # an IPv6 literal
        host_header = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
    with pool:
        response = pool.urlopen(
            "POST", target.path, body=body, headers={**headers, "Host": host_header},
            redirect=False, preload_content=False,
        )  # fmt: skip
        try:
            # Only the excerpt is kept: read no more than it can hold (4 bytes per character at most).
            head = response.read(EXCERPT_CHARS * 4)
        finally:
            response.release_conn()
    return response.status, head.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


@transaction.atomic
def record_attempt(delivery: Delivery, outcome: Outcome, *, at: datetime, final: bool = False) -> Delivery:
    delivery.attempts_count += 1
    DeliveryAttempt.objects.create(
        delivery=delivery, attempt=delivery.attempts_count, at=at, response_status=outcome.status,
        latency_ms=outcome.latency_ms, response_excerpt=outcome.excerpt, error=outcome.error,
    )  # fmt: skip
    if outcome.succeeded:
        delivery.status, delivery.next_attempt_at = "succeeded", None
    elif final or delivery.attempts_count >= settings.SANDBOX_WEBHOOK_MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.status = "retrying"
        delivery.next_attempt_at = at + timedelta(seconds=retry_delay_seconds(delivery.attempts_count))
    delivery.save(update_fields=["attempts_count", "status", "next_attempt_at"])
    return delivery


def deliver_due(*, now: datetime | None = None, workers: int = 4) -> int:
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(status__in=("pending", "retrying"), next_attempt_at__lte=now)
        .select_related("event", "subscription")
        .order_by("next_attempt_at", "created_at")[:BATCH]
    )
    if not due:
        return 0
    config = faults.current()
    if config.get("webhook_out_of_order"):
        _jitter.shuffle(due)
    to_send = []
    for delivery in due:
        if faults.chance(float(config.get("webhook_drop_rate") or 0)):
            record_attempt(delivery, Outcome(None, 0, "", "dropped by fault injection"), at=now, final=True)
        else:
            copies = 2 if faults.chance(float(config.get("webhook_duplicate_rate") or 0)) else 1
            to_send.append((delivery, build_request(delivery), copies))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(d, pool.submit(send, *request, copies=copies)) for d, request, copies in to_send]
        for delivery, future in futures:
            record_attempt(delivery, future.result(), at=timezone.now())
    return len(due)
