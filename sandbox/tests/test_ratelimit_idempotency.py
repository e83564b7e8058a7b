"""Per-partner token buckets with headers on every response; Idempotency-Key replays."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from sandbox.core.models import VM, Cluster, IdempotencyRecord, Partner
from sandbox.core.services.idempotency import RESERVATION_TIMEOUT
from sandbox.engine.ratelimit import RateLimiter
from sandbox.tests.conftest import VM_SPEC, PartnerClient

pytestmark = pytest.mark.django_db


def test_every_response_carries_rate_limit_headers(acme_api: PartnerClient) -> None:
    ok = acme_api.get("/api/v1/partners/partner-acme")
    not_found = acme_api.get("/api/v1/vms/vm-missing")
    assert ok["X-RateLimit-Limit"] == "1000" and not_found["X-RateLimit-Limit"] == "1000"
    assert int(ok["X-RateLimit-Remaining"]) == 1499
    assert int(not_found["X-RateLimit-Remaining"]) == 1498
    assert int(ok["X-RateLimit-Reset"]) > 0


def test_a_partner_over_its_burst_gets_429_with_retry_after(acme_api: PartnerClient, globex_api: PartnerClient,
                                                           settings: object) -> None:  # fmt: skip
    settings.SANDBOX_RATE_LIMIT_SCALE = 0.01  # gold: 10 per minute, burst 15
    statuses = [acme_api.get("/api/v1/partners/partner-acme").status_code for _ in range(16)]
    assert statuses[:15] == [200] * 15
    limited = acme_api.get("/api/v1/partners/partner-acme")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    assert limited.json()["error"]["details"]["retry_after"] == int(limited["Retry-After"])
    assert limited["X-RateLimit-Remaining"] == "0"
    # Buckets are per partner.
    assert globex_api.get("/api/v1/partners/partner-globex").status_code == 200


def test_the_bucket_refills_at_the_per_minute_rate() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        assert limiter.consume("p", per_minute=60, burst=3, now=1000.0).allowed
    refused = limiter.consume("p", per_minute=60, burst=3, now=1000.0)
    assert not refused.allowed and refused.retry_after == 1
    assert limiter.consume("p", per_minute=60, burst=3, now=1001.0).allowed
    assert limiter.consume("p", per_minute=60, burst=3, now=1001.0).reset_at == 1004


def test_a_repeated_post_with_the_same_key_is_replayed(acme_api: PartnerClient, clusters: list[Cluster],
                                                       acme: Partner) -> None:  # fmt: skip
    headers = {"Idempotency-Key": "create-once-1"}
    first = acme_api.post("/api/v1/vms", VM_SPEC, headers=headers)
    again = acme_api.post("/api/v1/vms", VM_SPEC, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert VM.objects.filter(partner=acme).count() == 1


def test_the_same_key_with_another_body_is_a_conflict(
    acme_api: PartnerClient, clusters: list[Cluster]
) -> None:
    headers = {"Idempotency-Key": "create-once-2"}
    assert acme_api.post("/api/v1/vms", VM_SPEC, headers=headers).status_code == 201
    changed = acme_api.post("/api/v1/vms", {**VM_SPEC, "name": "other"}, headers=headers)
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "conflict"


def test_keys_are_per_partner(
    acme_api: PartnerClient, globex_api: PartnerClient, clusters: list[Cluster]
) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    assert acme_api.post("/api/v1/vms", VM_SPEC, headers=headers).status_code == 201
    theirs = globex_api.post("/api/v1/vms", VM_SPEC, headers=headers)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs


def test_a_key_whose_first_request_is_still_running_is_a_409(
    acme_api: PartnerClient, clusters: list[Cluster], acme: Partner
) -> None:
    # The row a first request inserts before it starts the work, as seen by a second one.
    IdempotencyRecord.objects.create(
        partner=acme, key="racing", request_fingerprint=_fingerprint("/api/v1/vms", VM_SPEC), status_code=None
    )
    second = acme_api.post("/api/v1/vms", VM_SPEC, headers={"Idempotency-Key": "racing"})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    assert second.json()["error"]["details"]["in_progress"] is True
    assert VM.objects.filter(partner=acme).count() == 0


def test_an_abandoned_reservation_is_taken_over(
    acme_api: PartnerClient, clusters: list[Cluster], acme: Partner
) -> None:
    IdempotencyRecord.objects.create(
        partner=acme, key="orphan", request_fingerprint=_fingerprint("/api/v1/vms", VM_SPEC), status_code=None,
        created_at=timezone.now() - RESERVATION_TIMEOUT - timedelta(seconds=1),
    )  # fmt: skip
    response = acme_api.post("/api/v1/vms", VM_SPEC, headers={"Idempotency-Key": "orphan"})
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get(partner=acme, key="orphan").status_code == 201


def test_a_server_error_releases_the_key_for_a_retry(
    acme_api: PartnerClient, clusters: list[Cluster], acme: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.api import vms

    real_create = vms.vm_create
    monkeypatch.setattr(vms, "vm_create", lambda **kwargs: 1 / 0)
    headers = {"Idempotency-Key": "retry-me"}
    failed = Client(raise_request_exception=False)
    failed_response = failed.post(
        "/api/v1/vms", VM_SPEC, content_type="application/json",
        headers={**acme_api.headers("POST", "/api/v1/vms"), **headers},
    )  # fmt: skip
    assert failed_response.status_code == 500
    assert not IdempotencyRecord.objects.filter(partner=acme, key="retry-me").exists()

    monkeypatch.setattr(vms, "vm_create", real_create)
    retried = acme_api.post("/api/v1/vms", VM_SPEC, headers=headers)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried


def _fingerprint(path: str, body: object) -> str:
    digest = hashlib.sha256(f"POST:{path}:".encode())
    digest.update(json.dumps(body).encode())
    return digest.hexdigest()
