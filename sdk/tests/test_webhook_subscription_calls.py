from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import responses
from novacron import Client
from sdk_support import API, PARTNER, page_body

SUBSCRIPTION = {
    "subscription_id": "whs-1",
    "partner_id": PARTNER,
    "url": "https://yourapp.com/webhooks",
    "events": ["migration.completed", "migration.failed"],
    "status": "active",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}
DELIVERY = {
    "delivery_id": "dlv-1",
    "subscription_id": "whs-1",
    "event_id": "evt_1",
    "event_type": "vm.created",
    "status": "failed",
    "attempts_count": 1,
    "next_attempt_at": None,
    "created_at": "2026-01-01T00:00:00Z",
    "attempts": [
        {
            "attempt": 1,
            "at": "2026-01-01T00:00:01Z",
            "response_status": None,
            "latency_ms": 10000,
            "response_excerpt": "",
            "error": "timeout",
        }
    ],
}
WEBHOOKS = f"{API}/partners/{PARTNER}/webhooks"


def test_it_subscribes_with_url_events_and_secret(client: Client, api: responses.RequestsMock) -> None:
    api.post(WEBHOOKS, status=201, json=SUBSCRIPTION)

    subscription = client.subscribe_webhook(
        ["migration.completed", "migration.failed"],
        "https://yourapp.com/webhooks",
        "webhook-secret-0123456789",
    )

    assert json.loads(api.calls[0].request.body) == {
        "url": "https://yourapp.com/webhooks",
        "events": ["migration.completed", "migration.failed"],
        "secret": "webhook-secret-0123456789",
    }
    assert subscription.subscription_id == "whs-1"
    assert not hasattr(subscription, "secret")


def test_it_lists_updates_and_deletes_subscriptions(client: Client, api: responses.RequestsMock) -> None:
    api.get(WEBHOOKS, json=page_body([SUBSCRIPTION]))
    api.patch(f"{WEBHOOKS}/whs-1", json={**SUBSCRIPTION, "status": "disabled"})
    api.delete(f"{WEBHOOKS}/whs-1", status=204)

    assert [s.url for s in client.list_webhooks()] == ["https://yourapp.com/webhooks"]
    assert client.update_webhook("whs-1", {"secret": "a-new-secret-0123456789"}).status == "disabled"
    assert json.loads(api.calls[1].request.body) == {"secret": "a-new-secret-0123456789"}
    assert client.delete_webhook("whs-1") is None


def test_it_sends_a_test_event(client: Client, api: responses.RequestsMock) -> None:
    api.post(f"{WEBHOOKS}/whs-1/test", status=202, json={**DELIVERY, "status": "pending", "attempts": []})

    delivery = client.send_test_event("whs-1")

    assert delivery.status == "pending"
    assert delivery.event_type == "vm.created"


def test_it_lists_deliveries_with_their_attempts(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{WEBHOOKS}/whs-1/deliveries", json=page_body([DELIVERY]))

    (delivery,) = client.list_deliveries("whs-1", status="failed")

    assert ("status", "failed") in parse_qsl(urlsplit(api.calls[0].request.url).query)
    assert delivery.attempts[0].response_status is None
    assert delivery.attempts[0].error == "timeout"


def test_it_redelivers_an_event(client: Client, api: responses.RequestsMock) -> None:
    api.post(
        f"{WEBHOOKS}/whs-1/deliveries/dlv-1/redeliver",
        status=202,
        json={**DELIVERY, "delivery_id": "dlv-2", "status": "pending", "attempts": []},
    )

    delivery = client.redeliver("whs-1", "dlv-1")

    assert delivery.delivery_id == "dlv-2"
    assert delivery.event_id == "evt_1"
