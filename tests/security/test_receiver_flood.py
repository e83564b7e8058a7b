"""The webhook receiver under attack: every bad delivery is refused and only counted, a flood from
one address is cut off at 429 before any database work, and genuine events stay in the received log.

No traffic leaves the test process (Django's test client).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from novacron.webhooks import sign_payload

from partners.models import Partner
from tests.webhook_payloads import event, vm_data
from webhooks import services
from webhooks.models import WebhookEvent, WebhookRejection
from webhooks.services import MAX_BODY_BYTES
from webhooks.throttle import CACHE_ALIAS

pytestmark = pytest.mark.django_db

RECEIVER = "/webhooks/novacron/{}/"
ATTACKER = "198.51.100.7"
NOVACRON = "203.0.113.10"

type Deliver = Callable[..., Any]


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    caches[CACHE_ALIAS].clear()
    yield
    caches[CACHE_ALIAS].clear()


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from webhooks import tasks

    calls: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", calls.append)
    monkeypatch.setattr(tasks.publish_webhook_log, "apply_async", lambda *a, **k: None)
    return calls


@pytest.fixture
def post(partner: Partner, enqueued: list[int], django_capture_on_commit_callbacks: Any) -> Deliver:
    """POST raw bytes to the receiver from `addr` (REMOTE_ADDR), with the given headers."""

    def _post(body: bytes, *, addr: str = ATTACKER, partner_id: str | None = None, **headers: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return Client(REMOTE_ADDR=addr).post(
                RECEIVER.format(partner_id or partner.partner_id),
                data=body,
                content_type="application/json",
                **headers,
            )

    return _post


def signed(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"HTTP_X_WEBHOOK_SIGNATURE": sign_payload(body, secret)}


def genuine(partner: Partner, event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    return signed(event("vm.started", vm_data(), event_id=event_id), partner.webhook_secret)


def _old_event(partner: Partner) -> tuple[bytes, dict[str, str]]:
    payload = event("vm.started", vm_data())
    payload["timestamp"] = "2020-01-01T00:00:00Z"
    return signed(payload, partner.webhook_secret)


def _non_json(partner: Partner) -> tuple[bytes, dict[str, str]]:
    body = b"this is not json {"
    return body, {"HTTP_X_WEBHOOK_SIGNATURE": sign_payload(body, partner.webhook_secret)}


def _oversize(partner: Partner) -> tuple[bytes, dict[str, str]]:
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    return body, {"HTTP_X_WEBHOOK_SIGNATURE": sign_payload(body, partner.webhook_secret)}


BAD_INPUTS: dict[str, tuple[Callable[[Partner], tuple[bytes, dict[str, str]]], int, str]] = {
    "missing signature header": (lambda p: (genuine(p)[0], {}), 401, "missing_signature"),
    "garbled signature header": (
        lambda p: (genuine(p)[0], {"HTTP_X_WEBHOOK_SIGNATURE": "sha256=zz!!not-hex"}),
        401,
        "bad_signature",
    ),
    "wrong secret": (
        lambda p: signed(event("vm.started", vm_data()), "whsec_not_the_partners_0123456789"),
        401,
        "bad_signature",
    ),
    "event dated 2020": (_old_event, 400, "too_old"),
    "oversize body": (_oversize, 413, "too_large"),
    "signed, not JSON": (_non_json, 400, "malformed"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_a_bad_delivery_is_refused_and_only_counted(case: str, post: Deliver, partner: Partner) -> None:
    make, status, reason = BAD_INPUTS[case]
    body, headers = make(partner)

    responses = [post(body, **headers) for _ in range(3)]

    assert [r.status_code for r in responses] == [status] * 3
    assert responses[0].json() == {"error": {"code": reason}}
    assert not WebhookEvent.objects.exists()
    # Three refusals, one row: the count, never the body.
    row = WebhookRejection.objects.get()
    assert (row.partner, row.reason, row.count, row.last_addresses) == (partner, reason, 3, [ATTACKER])
    assert b"vm-0001" not in json.dumps(list(WebhookRejection.objects.values()), default=str).encode()


def test_an_unknown_partner_is_a_404_counted_under_no_partner(post: Deliver, partner: Partner) -> None:
    body, headers = genuine(partner)

    for number in range(5):
        assert post(body, partner_id=f"partner-guess-{number}", **headers).status_code == 404

    # The guessed ids are not kept: one row however many are tried.
    row = WebhookRejection.objects.get()
    assert (row.partner, row.reason, row.count) == (None, "unknown_partner", 5)


def test_a_replay_is_accepted_once_and_stores_nothing_more(
    post: Deliver, partner: Partner, enqueued: list[int]
) -> None:
    body, headers = genuine(partner, "evt_replayed")

    first = post(body, addr=NOVACRON, **headers)
    again = [post(body, addr=ATTACKER, **headers) for _ in range(5)]

    assert first.status_code == 202
    assert {r.status_code for r in again} == {200}
    assert WebhookEvent.objects.get().event_id == "evt_replayed"
    assert len(enqueued) == 1
    assert not WebhookRejection.objects.exists()


def test_a_replay_of_an_old_signed_event_is_refused_once_its_id_may_be_pruned(
    post: Deliver, partner: Partner, settings: Any
) -> None:
    settings.WEBHOOK_MAX_EVENT_AGE_SECONDS = 3600
    payload = event("vm.started", vm_data(), event_id="evt_old_capture")
    payload["timestamp"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    body, headers = signed(payload, partner.webhook_secret)

    assert post(body, **headers).status_code == 400
    assert not WebhookEvent.objects.exists()
    assert WebhookRejection.objects.get().reason == "too_old"


def test_after_n_refusals_the_next_is_429_without_a_query_or_a_signature_check(
    post: Deliver, partner: Partner, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WEBHOOK_REFUSALS_PER_MINUTE = 10
    bad = genuine(partner)[0]
    assert [post(bad).status_code for _ in range(10)] == [401] * 10

    verified: list[int] = []
    real_verify = services.webhook_verify
    monkeypatch.setattr(services, "webhook_verify", lambda **kw: verified.append(1) or real_verify(**kw))
    with CaptureQueriesContext(connection) as queries:
        flooded = [post(bad) for _ in range(50)]

    assert {r.status_code for r in flooded} == {429}
    assert all(1 <= int(r["Retry-After"]) <= 60 for r in flooded)
    assert flooded[0].json() == {"error": {"code": "too_many_refusals"}}
    assert len(queries) == 0
    assert verified == []
    assert WebhookRejection.objects.get().count == 10


def test_the_flood_bound_is_per_address_so_novacron_keeps_delivering(
    post: Deliver, partner: Partner, settings: Any, enqueued: list[int]
) -> None:
    settings.WEBHOOK_REFUSALS_PER_MINUTE = 5
    for _ in range(20):
        post(b"{}", addr=ATTACKER)
    assert post(b"{}", addr=ATTACKER).status_code == 429

    body, headers = genuine(partner, "evt_during_flood")
    assert post(body, addr=NOVACRON, **headers).status_code == 202
    assert WebhookEvent.objects.get().event_id == "evt_during_flood"


def test_accepted_deliveries_do_not_count_towards_the_bound(
    post: Deliver, partner: Partner, settings: Any
) -> None:
    settings.WEBHOOK_REFUSALS_PER_MINUTE = 3
    for number in range(10):
        body, headers = genuine(partner, f"evt_ok_{number}")
        assert post(body, addr=NOVACRON, **headers).status_code == 202
    assert WebhookEvent.objects.count() == 10


def test_genuine_events_stay_in_the_log_after_1000_refusals_and_the_rows_stay_bounded(
    post: Deliver, partner: Partner, owner: Any, client_of: Callable[[Any], Any], settings: Any
) -> None:
    # The bound is lifted here so that every refusal reaches the counting (the worst case for rows).
    settings.WEBHOOK_REFUSALS_PER_MINUTE = 100_000
    for number in range(3):
        body, headers = genuine(partner, f"evt_genuine_{number}")
        assert post(body, addr=NOVACRON, **headers).status_code == 202

    bad = genuine(partner)[0]
    started = timezone.now()
    for number in range(1000):
        post(bad, addr=f"198.51.100.{number % 50}", HTTP_X_WEBHOOK_SIGNATURE="0" * 64)
    ended = timezone.now()

    # One row per minute the flood lasted, whatever the count: on a slow machine it may straddle a
    # minute boundary or two, never more rows than minutes.
    minutes = (
        int(
            (
                ended.replace(second=0, microsecond=0) - started.replace(second=0, microsecond=0)
            ).total_seconds()
            // 60
        )
        + 1
    )
    assert WebhookRejection.objects.count() <= minutes
    assert sum(WebhookRejection.objects.values_list("count", flat=True)) == 1000
    for row in WebhookRejection.objects.all():
        assert len(row.last_addresses) <= WebhookRejection.ADDRESSES_KEPT

    page = client_of(owner).get("/partner/webhooks/received/")
    assert page.status_code == 200
    shown = [entry.event.event_id for entry in page.context["entries"]]
    assert sorted(shown) == ["evt_genuine_0", "evt_genuine_1", "evt_genuine_2"]
    assert sum(r.count for r in page.context["refusals"]) == 1000


def test_the_refusal_counts_are_admin_only(
    post: Deliver, partner: Partner, client_of: Callable[[Any], Any], viewer: Any, operator: Any
) -> None:
    post(b"{}", addr=ATTACKER)

    for person in (viewer, operator):
        response = client_of(person).get("/partner/webhooks/received/")
        assert response.status_code == 403
        assert ATTACKER not in response.text
