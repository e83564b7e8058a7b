"""The partner admins' webhook pages: subscriptions at NovaCron with their delivery log, and the
portal's own log of what NovaCron posted to its receiver.

Every page is for the partner's admins (role); those that call NovaCron need the `partner:admin`
scope too, and without it offer the grant link and make no API call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from novacron import errors as novacron_errors

from accounts.decorators import needs_partner_admin_scope, partner_admin_page
from accounts.http import PortalRequest
from audit.trail import audited, identify, refuse
from lib.forms import action_idempotency_key, apply_api_field_errors, form_outcome, form_outcome_remember
from lib.http_errors import NotInYourOrganisation
from webhooks import delivery_log, subscriptions
from webhooks.forms import SubscriptionForm
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_reprocess

NEW_SECRET_SESSION_KEY = "partners:new_webhook_secret"


@require_GET
@partner_admin_page
@needs_partner_admin_scope
def webhook_list(request: PortalRequest) -> HttpResponse:
    listed = subscriptions.subscription_list(client=request.novacron)
    # A new secret is shown on the first page view after it was made, then never again.
    new_secret = request.session.pop(NEW_SECRET_SESSION_KEY, None)
    receiver = subscriptions.receiver_url(partner=request.partner)
    context = {
        "subscriptions": listed,
        "new_secret": new_secret,
        "receiver_url": receiver,
        "previous_secret_expires_at": request.partner.previous_webhook_secret_expires_at
        if request.partner.previous_webhook_secret
        else None,
    }
    return render(request, "webhooks/webhook_list.html", context)


def _show_secret_once(request: PortalRequest, new_secret: subscriptions.NewSecret, *, rotated: bool) -> None:
    request.session[NEW_SECRET_SESSION_KEY] = {
        "subscription_id": new_secret.subscription_id,
        "url": new_secret.url,
        "secret": new_secret.secret,
        "rotated": rotated,
        "own_receiver": subscriptions.is_own_receiver(partner=request.partner, url=new_secret.url),
    }


@audited(
    "webhook_subscription.create",
    object_type="webhook subscription",
    link="webhooks:webhook_list",
    parameters=("url", "events"),
)
@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def webhook_create(request: PortalRequest) -> HttpResponse:
    receiver = subscriptions.receiver_url(partner=request.partner)
    form = SubscriptionForm(request.POST or None, initial={"url": receiver, "events": ["vm.created"]})
    if request.method == "POST" and form.is_valid():
        try:
            new_secret = subscriptions.subscription_create(
                client=request.novacron,
                partner=request.partner,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except novacron_errors.ValidationError as exc:
            apply_api_field_errors(exc.fields, form)
            if not exc.fields:
                form.add_error(None, exc.message)
            form.renew_idempotency_key()
        else:
            identify(request, new_secret.subscription_id)
            _show_secret_once(request, new_secret, rotated=False)
            messages.success(request, f"Subscribed {new_secret.url}.")
            return redirect("webhooks:webhook_list")
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "receiver_url": receiver,
        "receiver_subscriptions": _receiver_subscriptions(request),
    }
    return render(request, "webhooks/webhook_form.html", context, status=status)


def _receiver_subscriptions(request: PortalRequest) -> list[Any]:
    """Subscriptions that already deliver to this portal: a second one would send every event twice."""
    return [
        subscription
        for subscription in subscriptions.subscription_list(client=request.novacron)
        if subscriptions.is_own_receiver(partner=request.partner, url=subscription.url)
    ]


@dataclass(frozen=True)
class _SubscriptionRef:
    subscription_id: str


def _subscription(request: PortalRequest, subscription_id: str) -> Any:
    for subscription in subscriptions.subscription_list(client=request.novacron):
        if subscription.subscription_id == subscription_id:
            return subscription
    raise NotInYourOrganisation("This webhook subscription isn't in your organisation")


@audited("webhook_subscription.delete", object_type="webhook subscription", object_id="subscription_id")
@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def webhook_delete(request: PortalRequest, subscription_id: str) -> HttpResponse:
    # The DELETE carries no Idempotency-Key (NovaCron honours one on POST only; the SDK's
    # delete_webhook takes none). The confirmation form carries the portal's own key: the second of a
    # double click, once the first is done, goes where the first went instead of to a 404.
    key = action_idempotency_key(request.POST) if request.method == "POST" else None
    done = form_outcome(partner_pk=request.partner.pk, path=request.path, key=key) if key else None
    if done:
        return redirect(done)
    subscription = _subscription(request, subscription_id)
    if request.method == "POST":
        request.novacron.delete_webhook(subscription_id)
        messages.success(request, f"Unsubscribed {subscription.url}.")
        target = reverse("webhooks:webhook_list")
        if key:
            form_outcome_remember(partner_pk=request.partner.pk, path=request.path, key=key, location=target)
        return redirect(target)
    return render(request, "webhooks/webhook_confirm_delete.html", {"subscription": subscription})


@audited(
    "webhook_subscription.rotate_secret",
    object_type="webhook subscription",
    object_id="subscription_id",
    link="webhooks:webhook_deliveries",
)
@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def webhook_rotate_secret(request: PortalRequest, subscription_id: str) -> HttpResponse:
    subscription = _subscription(request, subscription_id)
    own_receiver = subscriptions.is_own_receiver(partner=request.partner, url=subscription.url)
    key = action_idempotency_key(request.POST) if request.method == "POST" else None
    if request.method == "POST" and key is None:
        messages.error(request, "Nothing was rotated: the page was out of date. Try again.")
    elif request.method == "POST":
        new_secret = subscriptions.subscription_rotate_secret(
            client=request.novacron,
            partner=request.partner,
            subscription_id=subscription_id,
            idempotency_key=key,
        )
        _show_secret_once(request, new_secret, rotated=True)
        messages.success(request, "Secret rotated.")
        return redirect("webhooks:webhook_list")
    context = {"subscription": subscription, "own_receiver": own_receiver}
    return render(request, "webhooks/webhook_confirm_rotate.html", context)


@audited(
    "webhook_subscription.send_test",
    object_type="webhook subscription",
    object_id="subscription_id",
    link="webhooks:webhook_deliveries",
)
@partner_admin_page
@needs_partner_admin_scope
@require_POST
def webhook_send_test(request: PortalRequest, subscription_id: str) -> HttpResponse:
    key = action_idempotency_key(request.POST)
    if key is None:
        _subscription(request, subscription_id)  # another partner's id is a 404 all the same
        messages.error(request, "Nothing was sent: the page was out of date. Try again.")
        return redirect("webhooks:webhook_deliveries", subscription_id=subscription_id)
    delivery = request.novacron.send_test_event(subscription_id, idempotency_key=key)
    messages.success(request, f"Test event {delivery.event_id} queued for delivery ({delivery.status}).")
    return redirect("webhooks:webhook_deliveries", subscription_id=subscription_id)


@require_GET
@partner_admin_page
@needs_partner_admin_scope
def webhook_deliveries(request: PortalRequest, subscription_id: str) -> HttpResponse:
    """NovaCron's side of the log: every delivery of this subscription and its attempts."""
    status = request.GET.get("status") or ""
    if status not in {"", "pending", "retrying", "succeeded", "failed"}:
        status = ""
    # The fragment refreshes every few seconds: it needs no second API call for the subscription.
    subscription = (
        _SubscriptionRef(subscription_id) if request.htmx else _subscription(request, subscription_id)
    )
    page = subscriptions.delivery_list(
        client=request.novacron, subscription_id=subscription_id, status=status
    )
    # Refresh by itself only while something is still on its way (or nothing arrived yet), so an
    # opened response excerpt does not snap shut every few seconds.
    in_flight = not page.data or any(d.status in ("pending", "retrying") for d in page.data)
    context = {
        "subscription": subscription,
        "deliveries": page.data,
        "page": page,
        "status": status,
        "in_flight": in_flight,
    }
    if request.htmx:
        return render(request, "webhooks/webhook_deliveries.html#deliveries", context)
    return render(request, "webhooks/webhook_deliveries.html", context)


@audited("webhook_delivery.redeliver", object_type="webhook delivery", object_id="delivery_id")
@partner_admin_page
@needs_partner_admin_scope
@require_POST
def delivery_redeliver(request: PortalRequest, subscription_id: str, delivery_id: str) -> HttpResponse:
    key = action_idempotency_key(request.POST)
    if key is None:
        _subscription(request, subscription_id)  # another partner's id is a 404 all the same
        messages.error(request, "Nothing was redelivered: the page was out of date. Try again.")
        return redirect("webhooks:webhook_deliveries", subscription_id=subscription_id)
    delivery = request.novacron.redeliver(subscription_id, delivery_id, idempotency_key=key)
    messages.success(request, f"Event {delivery.event_id} will be delivered again.")
    return redirect("webhooks:webhook_deliveries", subscription_id=subscription_id)


# --- the portal's side of the delivery log ---------------------------------------------------


@require_GET
@partner_admin_page
def received_log(request: PortalRequest) -> HttpResponse:
    """What NovaCron posted to our receiver: accepted events and refused deliveries.

    Reads only the local store, so it needs no scope. The rows arrive live (topic `WEBHOOK_LOG_TOPIC`,
    replacing `#received-rows`); htmx also polls `?rows=1` for them, so the page keeps up without
    the stream.
    """
    context = delivery_log.log_context(partner=request.partner)
    if request.htmx and request.GET.get("rows"):
        # The refusal counts ride along out of band, so one poll refreshes both tables.
        return HttpResponse(
            render_to_string("webhooks/received_log.html#rows", context, request)
            + render_to_string(
                "webhooks/received_log.html#refusals", {**context, "refusals_oob": True}, request
            )
        )
    return render(request, "webhooks/received_log.html", context)


def _received_event_or_404(request: PortalRequest, pk: int) -> Any:
    try:
        return delivery_log.received_event(partner=request.partner, pk=pk)
    except WebhookEvent.DoesNotExist as exc:
        raise NotInYourOrganisation("This received event isn't in your organisation") from exc


@require_GET
@partner_admin_page
def received_payload(request: PortalRequest, pk: int) -> HttpResponse:
    event = _received_event_or_404(request, pk)
    payload = json.dumps(event.payload, indent=2, sort_keys=True)
    template = "webhooks/received_payload.html#viewer" if request.htmx else "webhooks/received_payload.html"
    return render(request, template, {"event": event, "payload": payload})


@audited(
    "webhook_event.reprocess",
    object_type="received webhook event",
    object_id="pk",
    link="webhooks:received_payload",
)
@partner_admin_page
@require_POST
def received_reprocess(request: PortalRequest, pk: int) -> HttpResponse:
    event = _received_event_or_404(request, pk)
    if event.status == WebhookEvent.Status.IGNORED:
        refuse(request, "an event of a kind the portal does not apply", "nothing_to_reprocess")
        messages.info(
            request, f"Event {event.event_id} is of a kind the portal does not apply: nothing to reprocess."
        )
    else:
        webhook_event_reprocess(event=event)
        messages.success(request, f"Event {event.event_id} queued for processing again.")
    if request.htmx:
        # Rows pushed by the live stream are shared by the partner's users and so carry no CSRF token:
        # their button posts through htmx (the page's X-CSRFToken header) and the page reloads.
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return redirect("webhooks:received_log")
