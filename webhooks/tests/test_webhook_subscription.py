from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from partners.models import Partner
from partners.services import partner_import
from webhooks.subscriptions import WEBHOOK_EVENT_TYPES, webhook_subscription_ensure
from webhooks.tasks import ensure_webhook_subscriptions

pytestmark = pytest.mark.django_db

API = "http://127.0.0.1:9"
HOOKS = f"{API}/api/v1/partners/partner-acme/webhooks"
RECEIVER = "http://portal.test/webhooks/novacron/partner-acme/"


@pytest.fixture(autouse=True)
def _api(settings: Any) -> None:
    settings.NOVACRON_API_URL = API
    settings.WEBHOOK_RECEIVER_URL = "http://portal.test/webhooks/novacron/{partner_id}/"


def page(*subscriptions: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": list(subscriptions),
        "page": 1,
        "limit": 500,
        "total": len(subscriptions),
        "has_more": False,
    }


def subscription(**overrides: Any) -> dict[str, Any]:
    return {
        "subscription_id": "whs-1",
        "partner_id": "partner-acme",
        "url": RECEIVER,
        "events": list(WEBHOOK_EVENT_TYPES),
        "status": "active",
        **overrides,
    }


@responses.activate
def test_it_subscribes_the_receiver_to_every_event_with_the_partners_secret(partner: Partner) -> None:
    responses.add(responses.GET, HOOKS, json=page(subscription(url="http://elsewhere.test/")))
    created = responses.add(responses.POST, HOOKS, status=201, json=subscription(subscription_id="whs-2"))

    outcome = webhook_subscription_ensure(partner=partner)

    assert outcome.action == "created" and outcome.subscription_id == "whs-2"
    body = json.loads(created.calls[0].request.body)
    assert body == {"url": RECEIVER, "events": list(WEBHOOK_EVENT_TYPES), "secret": partner.webhook_secret}


@responses.activate
def test_an_existing_disabled_subscription_is_reactivated_not_duplicated(partner: Partner) -> None:
    responses.add(responses.GET, HOOKS, json=page(subscription(status="disabled", events=["vm.created"])))
    patched = responses.add(responses.PATCH, f"{HOOKS}/whs-1", json=subscription())

    outcome = webhook_subscription_ensure(partner=partner)

    assert outcome.action == "updated"
    body = json.loads(patched.calls[0].request.body)
    assert body["status"] == "active" and sorted(body["events"]) == sorted(WEBHOOK_EVENT_TYPES)
    assert len(responses.calls) == 2  # a list and a patch, no second subscription


@responses.activate
def test_the_task_carries_on_when_one_partner_fails(partner: Partner, other_partner: Partner) -> None:
    responses.add(responses.GET, HOOKS, json=page(subscription()))
    responses.add(responses.PATCH, f"{HOOKS}/whs-1", json=subscription())
    responses.add(
        responses.GET,
        f"{API}/api/v1/partners/partner-globex/webhooks",
        status=401,
        json={"error": {"code": "unauthorized", "message": "bad key"}},
    )

    outcomes = ensure_webhook_subscriptions()

    assert outcomes["partner-acme"] == "unchanged"
    assert outcomes["partner-globex"].startswith("error")


def test_importing_a_partner_twice_keeps_its_webhook_secret() -> None:
    first = partner_import(partner_id="partner-acme", name="Acme", api_key="k1", api_secret="s1", tier="gold")
    second = partner_import(
        partner_id="partner-acme", name="Acme", api_key="k2", api_secret="s2", tier="gold"
    )
    assert first.webhook_secret.startswith("whsec_") and second.webhook_secret == first.webhook_secret
    assert Partner.objects.get().api_key == "k2"
