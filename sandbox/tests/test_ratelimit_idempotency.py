"""Per-partner token buckets with headers on every response; Idempotency-Key replays."""

from __future__ import annotations

import pytest

from sandbox.core.models import VM, Cluster, Partner
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
