from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.utils import timezone
from novacron.webhooks import sign_payload

from partners.models import Partner
from tests.factories import form_key
from tests.partner_api import PARTNER_API, delivery_json, error_json, page, subscription_json
from webhooks.subscriptions import expired_webhook_secrets_drop, subscription_rotate_secret
from webhooks.tasks import drop_expired_webhook_secrets

# The webhooks tests clear the cache (a database table without Redis) before each test.
pytestmark = pytest.mark.django_db

RECEIVER = "http://testserver/webhooks/novacron/partner-acme/"
RECEIVER_PATH = "/webhooks/novacron/partner-acme/"


def deliver(client: Any, secret: str, event_id: str = "evt_rotation_1") -> Any:
    """POST a webhook to our receiver the way NovaCron does, signed with `secret`."""
    body = json.dumps(
        {
            "event_id": event_id,
            "event_type": "quota.exceeded",
            "timestamp": timezone.now().isoformat(),
            "partner_id": "partner-acme",
            "data": {
                "quota": "vm_create_per_day",
                "limit": 10,
                "used": 10,
                "requested": 1,
                "message": "full",
            },
        }
    ).encode()
    return client.post(
        RECEIVER_PATH,
        body,
        content_type="application/json",
        headers={
            "X-Webhook-Signature": sign_payload(body, secret),
            "X-Webhook-ID": event_id,
            "X-Webhook-Event": "quota.exceeded",
        },
    )


def test_it_lists_subscriptions_with_their_status(api: responses.RequestsMock, admin_client: Any) -> None:
    api.get(
        f"{PARTNER_API}/webhooks",
        json=page(
            [subscription_json(), subscription_json(subscription_id="whs-2", url=RECEIVER, status="disabled")]
        ),
    )

    response = admin_client.get("/partner/webhooks/")

    assert response.status_code == 200
    assert "https://hooks.acme.example/novacron" in response.text
    assert "disabled" in response.text
    assert "this portal" in response.text


def test_the_form_offers_every_event_type_and_our_receiver_by_default(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()]))

    response = admin_client.get("/partner/webhooks/new/")

    assert response.status_code == 200
    assert response.context["form"]["url"].value() == RECEIVER
    for event_type in (
        "vm.created",
        "vm.deleted",
        "migration.progress",
        "migration.failed",
        "alert.critical",
        "quota.exceeded",
    ):
        assert f'value="{event_type}"' in response.text
    assert 'id="receiver-already-subscribed"' not in response.text


def test_the_form_says_when_this_portal_already_receives_events(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(
        f"{PARTNER_API}/webhooks", json=page([subscription_json(subscription_id="whs-own", url=RECEIVER)])
    )

    response = admin_client.get("/partner/webhooks/new/")

    assert "This portal already receives vm.created, migration.completed (" in response.text
    assert "whs-own" in response.text


def test_a_new_secret_is_shown_once_and_then_never_again(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.post(f"{PARTNER_API}/webhooks", json=subscription_json(), status=201)
    api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()]))

    created = admin_client.post(
        "/partner/webhooks/new/",
        {
            **form_key(),
            "url": "https://hooks.acme.example/novacron",
            "events": ["vm.created", "migration.completed"],
        },
    )
    sent = json.loads(api.calls[0].request.body)
    secret = sent["secret"]

    assert created.status_code == 302
    assert sent["events"] == ["vm.created", "migration.completed"]
    assert len(secret) >= 32
    assert secret != Partner.objects.get().webhook_secret
    first = admin_client.get("/partner/webhooks/")
    assert secret in first.text
    second = admin_client.get("/partner/webhooks/")
    assert secret not in second.text
    assert 'id="new-secret"' not in second.text


def test_subscribing_our_own_receiver_uses_the_secret_the_receiver_checks(
    api: responses.RequestsMock, admin_client: Any, partner: Partner
) -> None:
    api.post(f"{PARTNER_API}/webhooks", json=subscription_json(url=RECEIVER), status=201)

    admin_client.post("/partner/webhooks/new/", {**form_key(), "url": RECEIVER, "events": ["vm.created"]})

    assert json.loads(api.calls[0].request.body)["secret"] == partner.webhook_secret


def test_novacrons_validation_errors_land_on_the_subscription_fields(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([]))
    api.post(
        f"{PARTNER_API}/webhooks",
        status=400,
        json=error_json("validation_error", "url: unreachable", {"fields": {"url": ["unreachable host"]}}),
    )

    response = admin_client.post(
        "/partner/webhooks/new/", {**form_key(), "url": "https://nowhere.example/", "events": ["vm.created"]}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["url"] == ["unreachable host"]


def test_a_subscription_needs_at_least_one_event_and_an_http_url(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([]))

    response = admin_client.post("/partner/webhooks/new/", {**form_key(), "url": "javascript:alert(1)"})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"url", "events"}
    assert not any(call.request.method == "POST" for call in api.calls)


def test_delete_asks_for_confirmation_then_deletes(api: responses.RequestsMock, admin_client: Any) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()]))
    api.delete(f"{PARTNER_API}/webhooks/whs-1", status=204)

    confirm = admin_client.get("/partner/webhooks/whs-1/delete/")
    assert confirm.status_code == 200
    assert "Stop sending events to https://hooks.acme.example/novacron?" in confirm.text

    response = admin_client.post("/partner/webhooks/whs-1/delete/")

    assert response.status_code == 302
    assert api.calls[-1].request.method == "DELETE"


def test_an_unknown_subscription_is_a_404(api: responses.RequestsMock, admin_client: Any) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()]))

    assert admin_client.get("/partner/webhooks/whs-globex/delete/").status_code == 404
    assert admin_client.get("/partner/webhooks/whs-globex/rotate/").status_code == 404


def test_send_test_event_asks_novacron_and_shows_the_deliveries(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.post(
        f"{PARTNER_API}/webhooks/whs-1/test", json=delivery_json(status="pending", attempts=[]), status=202
    )

    response = admin_client.post("/partner/webhooks/whs-1/test/", form_key())

    assert response.status_code == 302
    assert response["Location"] == "/partner/webhooks/whs-1/deliveries/"
    assert api.calls[0].request.method == "POST"


def test_the_delivery_log_shows_status_codes_latency_and_next_retry(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()]))
    api.get(f"{PARTNER_API}/webhooks/whs-1/deliveries", json=page([delivery_json()]))

    response = admin_client.get("/partner/webhooks/whs-1/deliveries/?status=retrying")

    assert response.status_code == 200
    assert "HTTP 500" in response.text
    assert "42 ms" in response.text
    assert "connection refused" in response.text
    assert "<pre" in response.text and "boom" in response.text  # the endpoint's answer, for debugging
    assert "15 Jan 2026, 10:31:00 UTC" in response.text
    assert "retrying" in response.text
    assert api.calls[-1].request.params["status"] == "retrying"


def test_the_delivery_log_fragment_refreshes_by_itself(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()]))
    api.get(f"{PARTNER_API}/webhooks/whs-1/deliveries", json=page([delivery_json()]))

    response = admin_client.get("/partner/webhooks/whs-1/deliveries/", headers={"HX-Request": "true"})

    assert response.text.lstrip().startswith('<div id="deliveries" hx-get=')  # retrying: keeps refreshing
    assert "<html" not in response.text
    assert [call.request.url.split("?")[0].rsplit("/", 1)[-1] for call in api.calls] == ["deliveries"]


def test_the_delivery_log_stops_refreshing_once_every_delivery_is_settled(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/webhooks/whs-1/deliveries", json=page([delivery_json(status="succeeded")]))

    response = admin_client.get("/partner/webhooks/whs-1/deliveries/", headers={"HX-Request": "true"})

    assert response.text.lstrip().startswith('<div id="deliveries">')


def test_redeliver_starts_a_new_attempt_series(api: responses.RequestsMock, admin_client: Any) -> None:
    api.post(
        f"{PARTNER_API}/webhooks/whs-1/deliveries/dlv-1/redeliver",
        json=delivery_json(status="pending"),
        status=202,
    )

    response = admin_client.post("/partner/webhooks/whs-1/deliveries/dlv-1/redeliver/", form_key())

    assert response.status_code == 302
    assert api.calls[0].request.url.endswith("/webhooks/whs-1/deliveries/dlv-1/redeliver")


def test_rotating_an_outside_subscription_sets_a_new_secret_at_novacron_only(
    api: responses.RequestsMock, admin_client: Any, partner: Partner
) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()]))
    api.patch(f"{PARTNER_API}/webhooks/whs-1", json=subscription_json())
    before = partner.webhook_secret

    response = admin_client.post("/partner/webhooks/whs-1/rotate/", form_key())

    new_secret = json.loads(api.calls[-1].request.body)["secret"]
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.webhook_secret == before
    assert partner.previous_webhook_secret == ""
    assert new_secret in admin_client.get("/partner/webhooks/").text


def test_rotating_our_receivers_secret_moves_every_subscription_to_it_and_keeps_the_old_one_a_day(
    api: responses.RequestsMock, admin_client: Any, partner: Partner
) -> None:
    api.get(
        f"{PARTNER_API}/webhooks",
        json=page(
            [
                subscription_json(subscription_id="whs-own", url=RECEIVER),
                subscription_json(subscription_id="whs-own-2", url=RECEIVER, events=["alert.critical"]),
                subscription_json(subscription_id="whs-outside"),
            ]
        ),
    )
    api.patch(
        f"{PARTNER_API}/webhooks/whs-own", json=subscription_json(subscription_id="whs-own", url=RECEIVER)
    )
    api.patch(
        f"{PARTNER_API}/webhooks/whs-own-2", json=subscription_json(subscription_id="whs-own-2", url=RECEIVER)
    )
    old = partner.webhook_secret

    response = admin_client.post("/partner/webhooks/whs-own/rotate/", form_key())

    assert response.status_code == 302
    partner.refresh_from_db()
    patched = {
        call.request.url.rsplit("/", 1)[-1]: json.loads(call.request.body)["secret"]
        for call in api.calls
        if call.request.method == "PATCH"
    }
    assert patched == {"whs-own": partner.webhook_secret, "whs-own-2": partner.webhook_secret}
    assert partner.webhook_secret != old
    assert partner.previous_webhook_secret == old
    expires_in = partner.previous_webhook_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < expires_in <= timedelta(hours=24)


def test_when_novacron_refuses_the_new_secret_the_receiver_keeps_the_old_one(
    api: responses.RequestsMock, admin_client: Any, partner: Partner
) -> None:
    api.get(
        f"{PARTNER_API}/webhooks", json=page([subscription_json(subscription_id="whs-own", url=RECEIVER)])
    )
    api.patch(
        f"{PARTNER_API}/webhooks/whs-own",
        status=400,
        json=error_json("validation_error", "secret: too short", {"fields": {"secret": ["too short"]}}),
    )
    old = partner.webhook_secret

    with pytest.raises(Exception, match="too short"):
        subscription_rotate_secret(client=_client_of(partner), partner=partner, subscription_id="whs-own")

    partner.refresh_from_db()
    assert partner.webhook_secret == old
    assert partner.previous_webhook_secret == ""


def _client_of(partner: Partner) -> Any:
    import novacron

    return novacron.Client.with_token(
        "http://127.0.0.1:8001", "token", partner_id=partner.partner_id, max_retries=0
    )


def test_the_old_secret_still_verifies_at_the_receiver_within_24_hours(
    api: responses.RequestsMock, partner: Partner, client: Any
) -> None:
    api.get(
        f"{PARTNER_API}/webhooks", json=page([subscription_json(subscription_id="whs-own", url=RECEIVER)])
    )
    api.patch(
        f"{PARTNER_API}/webhooks/whs-own", json=subscription_json(subscription_id="whs-own", url=RECEIVER)
    )
    old = partner.webhook_secret

    rotated = subscription_rotate_secret(
        client=_client_of(partner), partner=partner, subscription_id="whs-own"
    )

    assert deliver(client, old, "evt_signed_with_old").status_code == 202
    assert deliver(client, rotated.secret, "evt_signed_with_new").status_code == 202
    assert deliver(client, "whsec_never_issued_0123456789", "evt_forged").status_code == 401


def test_after_24_hours_the_old_secret_is_refused_and_the_cleanup_forgets_it(
    api: responses.RequestsMock, partner: Partner, client: Any
) -> None:
    api.get(
        f"{PARTNER_API}/webhooks", json=page([subscription_json(subscription_id="whs-own", url=RECEIVER)])
    )
    api.patch(
        f"{PARTNER_API}/webhooks/whs-own", json=subscription_json(subscription_id="whs-own", url=RECEIVER)
    )
    old = partner.webhook_secret
    # Rotated 25 hours ago: the grace period is over.
    rotated = subscription_rotate_secret(
        client=_client_of(partner),
        partner=partner,
        subscription_id="whs-own",
        now=timezone.now() - timedelta(hours=25),
    )

    assert deliver(client, old, "evt_too_late").status_code == 401
    assert deliver(client, rotated.secret, "evt_current").status_code == 202

    assert drop_expired_webhook_secrets() == 1
    partner.refresh_from_db()
    assert partner.previous_webhook_secret == ""
    assert partner.previous_webhook_secret_expires_at is None
    assert partner.webhook_secret == rotated.secret


def test_the_cleanup_keeps_a_previous_secret_still_in_its_grace_period(partner: Partner) -> None:
    partner.previous_webhook_secret = "whsec_previous_0123456789abcdef"
    partner.previous_webhook_secret_expires_at = timezone.now() + timedelta(hours=1)
    partner.save()

    assert expired_webhook_secrets_drop() == 0
    partner.refresh_from_db()
    assert partner.previous_webhook_secret == "whsec_previous_0123456789abcdef"


@pytest.mark.parametrize(
    "url",
    [
        "/partner/webhooks/",
        "/partner/webhooks/new/",
        "/partner/webhooks/whs-1/deliveries/",
        "/partner/webhooks/whs-1/rotate/",
    ],
)
def test_without_the_partner_admin_scope_it_offers_the_grant_link_and_calls_nothing(
    api: responses.RequestsMock,
    owner: Any,
    grant: Callable[..., Any],
    client_of: Callable[[Any], Any],
    url: str,
) -> None:
    grant(owner)

    response = client_of(owner).get(url)

    assert response.status_code == 403
    assert "scope=partner%3Aadmin" in response.text
    assert len(api.calls) == 0


@pytest.mark.parametrize("role_fixture", ["operator", "viewer"])
@pytest.mark.parametrize(
    "url",
    [
        "/partner/webhooks/whs-1/test/",
        "/partner/webhooks/whs-1/rotate/",
        "/partner/webhooks/whs-1/deliveries/dlv-1/redeliver/",
    ],
)
def test_operators_and_viewers_cannot_touch_subscriptions(
    api: responses.RequestsMock,
    request: pytest.FixtureRequest,
    grant: Callable[..., Any],
    client_of: Callable[[Any], Any],
    role_fixture: str,
    url: str,
) -> None:
    user = request.getfixturevalue(role_fixture)
    grant(user, "openid profile email vm:read partner:admin")

    response = client_of(user).post(url)

    assert response.status_code == 403
    assert "does not allow you to manage integrations and webhooks" in response.text
    assert len(api.calls) == 0
