"""Subscriptions over the API, and real deliveries to a local receiver: signature, retries, backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.core.models import Delivery, Partner
from sandbox.core.services.events import event_emit
from sandbox.engine import faults
from sandbox.engine.delivery import deliver_due
from sandbox.tests.conftest import PartnerClient
from sandbox.tests.receiver import Receiver

pytestmark = pytest.mark.django_db
SECRET = "whsec-0123456789abcdef"
BASE = "/api/v1/partners/partner-acme/webhooks"


def _subscribe(api: PartnerClient, url: str, events: list[str] | None = None) -> dict[str, object]:
    response = api.post(
        BASE, {"url": url, "events": events or ["vm.created", "vm.deleted"], "secret": SECRET}
    )
    assert response.status_code == 201
    return response.json()


def test_subscriptions_are_managed_and_never_show_the_secret(acme_api: PartnerClient) -> None:
    created = _subscribe(acme_api, "https://example.com/hooks")
    assert "secret" not in created and created["status"] == "active"
    sid = created["subscription_id"]
    assert acme_api.get(BASE).json()["total"] == 1
    patched = acme_api.patch(f"{BASE}/{sid}", {"secret": "rotated-secret-0123456789", "status": "disabled"})
    assert patched.json()["status"] == "disabled"
    assert acme_api.post(BASE, {"url": "ftp://x/y", "events": ["*"], "secret": "short"}).status_code == 400
    assert acme_api.delete(f"{BASE}/{sid}").status_code == 204
    assert acme_api.get(f"{BASE}/{sid}").status_code == 404


def test_a_delivery_is_signed_per_the_contract(acme_api: PartnerClient, acme: Partner) -> None:
    with Receiver() as receiver:
        _subscribe(acme_api, receiver.url)
        event = event_emit(partner=acme, event_type="vm.created", data={"vm_id": "vm-1"})
        event_emit(partner=acme, event_type="vm.started", data={"vm_id": "vm-1"})  # not subscribed
        assert deliver_due() == 1
    (request,) = receiver.received
    body, headers = request["body"], request["headers"]
    assert headers["X-Webhook-Signature"] == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Webhook-Event"] == "vm.created" and headers["X-Webhook-ID"] == event.event_id
    assert int(headers["X-Webhook-Timestamp"]) > 0 and headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["event_id"] == event.event_id and payload["partner_id"] == "partner-acme"
    assert payload["data"] == {"vm_id": "vm-1"}
    assert Delivery.objects.get().status == "succeeded"


def test_a_500_is_retried_after_a_backoff_within_bounds(
    acme_api: PartnerClient, acme: Partner, settings: object
) -> None:
    settings.SANDBOX_WEBHOOK_RETRY_SCHEDULE = [10, 20]
    with Receiver(statuses=[500]) as receiver:
        sub = _subscribe(acme_api, receiver.url)
        event_emit(partner=acme, event_type="vm.created", data={"vm_id": "vm-2"})
        deliver_due()
        delivery = Delivery.objects.get()
        attempt = delivery.attempts.get()
        assert (
            delivery.status == "retrying"
            and attempt.response_status == 500
            and attempt.response_excerpt == "boom"
        )
        wait = (delivery.next_attempt_at - attempt.at).total_seconds()
        assert 8.0 <= wait <= 12.0
        assert deliver_due() == 0  # not due yet
        assert deliver_due(now=delivery.next_attempt_at + timedelta(milliseconds=1)) == 1
    listed = acme_api.get(f"{BASE}/{sub['subscription_id']}/deliveries").json()["data"][0]
    assert listed["status"] == "succeeded" and listed["attempts_count"] == 2
    assert [a["response_status"] for a in listed["attempts"]] == [500, 200]
    assert len(receiver.received) == 2
    assert receiver.received[0]["headers"]["X-Webhook-ID"] == receiver.received[1]["headers"]["X-Webhook-ID"]


def test_it_gives_up_after_eight_attempts(acme_api: PartnerClient, acme: Partner, settings: object) -> None:
    settings.SANDBOX_WEBHOOK_RETRY_SCHEDULE = [0]
    with Receiver(statuses=[503] * 10) as receiver:
        _subscribe(acme_api, receiver.url)
        event_emit(partner=acme, event_type="vm.deleted", data={})
        for _ in range(10):
            deliver_due(now=timezone.now() + timedelta(seconds=1))
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts_count == 8 and delivery.next_attempt_at is None


def test_a_test_event_and_a_redelivery(acme_api: PartnerClient) -> None:
    with Receiver() as receiver:
        sid = _subscribe(acme_api, receiver.url)["subscription_id"]
        queued = acme_api.post(f"{BASE}/{sid}/test")
        assert queued.status_code == 202 and queued.json()["event_type"] == "vm.created"
        deliver_due()
        again = acme_api.post(f"{BASE}/{sid}/deliveries/{queued.json()['delivery_id']}/redeliver")
        assert again.status_code == 202 and again.json()["event_id"] == queued.json()["event_id"]
        assert again.json()["delivery_id"] != queued.json()["delivery_id"]
        deliver_due()
    assert [json.loads(r["body"])["data"]["test"] for r in receiver.received] == [True, True]
    assert acme_api.get(f"{BASE}/{sid}/deliveries", status="succeeded").json()["total"] == 2


def test_injected_drops_and_duplicates(acme_api: PartnerClient, acme: Partner) -> None:
    with Receiver() as receiver:
        _subscribe(acme_api, receiver.url)
        faults.replace({"webhook_duplicate_rate": 1.0})
        event_emit(partner=acme, event_type="vm.created", data={})
        deliver_due()
        assert len(receiver.received) == 2
        faults.replace({"webhook_drop_rate": 1.0})
        event_emit(partner=acme, event_type="vm.created", data={})
        deliver_due()
        assert len(receiver.received) == 2
    dropped = Delivery.objects.get(status="failed")
    assert dropped.attempts.get().error == "dropped by fault injection"
