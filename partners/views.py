"""Partner administration pages: integrations, webhook subscriptions and both delivery logs.

Every page here is for the partner's admins (role) and, when it calls NovaCron, needs the
`partner:admin` scope: without it the page offers the grant link and makes no API call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from novacron import errors as novacron_errors

from accounts.decorators import partner_required
from accounts.roles import PARTNER_ADMIN, role_required
from accounts.scopes import has_scope
from partners import delivery_log, integration_services, subscription_services
from partners.forms import (
    EndpointFormSet,
    IntegrationForm,
    SubscriptionForm,
    apply_api_field_errors,
    integration_body,
    integration_initial,
)
from portal.errors import NotInYourOrganisation
from webhooks.models import WebhookEvent

NEW_SECRET_SESSION_KEY = "partners:new_webhook_secret"

View = Callable[..., HttpResponse]


def partner_admin_page(view: View) -> View:
    """Signed in, of a partner, role admin: the guard of every page in this module."""
    return partner_required(role_required(PARTNER_ADMIN)(view))


def needs_partner_admin_scope(view: View) -> View:
    """Without the `partner:admin` scope, show the grant link instead of calling NovaCron."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_scope(request.user, PARTNER_ADMIN):
            return render(request, "partners/grant_needed.html", {"scope": PARTNER_ADMIN}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _not_found_as_404(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except novacron_errors.NotFoundError as exc:
        raise Http404(exc.message) from exc


# --- integrations ----------------------------------------------------------------------------


@partner_admin_page
@needs_partner_admin_scope
def integration_list(request: HttpRequest) -> HttpResponse:
    requested = request.GET.get("page", "")
    page_number = max(int(requested), 1) if requested.isdigit() else 1
    page = integration_services.integration_list(client=request.novacron, page=page_number)
    return render(request, "partners/integration_list.html", {"page": page, "integrations": page.data})


def _integration_save(form: IntegrationForm, endpoints: Any, save: Callable[[dict[str, Any]], Any]) -> bool:
    """Send the forms to NovaCron; on a refusal, put its messages on the fields. True when saved."""
    if not (form.is_valid() and endpoints.is_valid()):
        return False
    try:
        save(integration_body(form, endpoints))
    except novacron_errors.ValidationError as exc:
        apply_api_field_errors(exc.fields, form, endpoints)
        if not exc.fields:
            form.add_error(None, exc.message)
        return False
    except novacron_errors.ConflictError as exc:
        form.add_error("name", exc.message or "An integration with this name already exists.")
        return False
    return True


@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def integration_create(request: HttpRequest) -> HttpResponse:
    form = IntegrationForm(request.POST or None)
    endpoints = EndpointFormSet(request.POST or None, prefix="endpoints")
    if request.method == "POST":

        def create(body: dict[str, Any]) -> Any:
            return integration_services.integration_create(client=request.novacron, body=body)

        if _integration_save(form, endpoints, create):
            messages.success(request, f"Integration “{form.cleaned_data['name']}” created.")
            return redirect("partners:integration_list")
    context = {"form": form, "endpoints": endpoints, "creating": True}
    return render(request, "partners/integration_form.html", context, status=400 if request.method == "POST" else 200)


@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def integration_edit(request: HttpRequest, integration_id: str) -> HttpResponse:
    client = request.novacron
    integration = _not_found_as_404(
        lambda: integration_services.integration_get(client=client, integration_id=integration_id)
    )
    initial, rows = integration_initial(integration)
    if request.method == "POST":
        form = IntegrationForm(request.POST, initial=initial)
        endpoints = EndpointFormSet(request.POST, prefix="endpoints", initial=rows)

        def update(body: dict[str, Any]) -> Any:
            return integration_services.integration_update(
                client=client, integration_id=integration_id, body=body
            )

        if _integration_save(form, endpoints, update):
            messages.success(request, f"Integration “{form.cleaned_data['name']}” saved.")
            return redirect("partners:integration_list")
    else:
        form = IntegrationForm(initial=initial)
        endpoints = EndpointFormSet(prefix="endpoints", initial=rows)
    context = {"form": form, "endpoints": endpoints, "integration": integration, "creating": False}
    return render(request, "partners/integration_form.html", context, status=400 if request.method == "POST" else 200)


@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def integration_delete(request: HttpRequest, integration_id: str) -> HttpResponse:
    client = request.novacron
    integration = _not_found_as_404(
        lambda: integration_services.integration_get(client=client, integration_id=integration_id)
    )
    if request.method == "POST":
        _not_found_as_404(
            lambda: integration_services.integration_delete(client=client, integration_id=integration_id)
        )
        messages.success(request, f"Integration “{integration.name}” deleted.")
        return redirect("partners:integration_list")
    return render(request, "partners/integration_confirm_delete.html", {"integration": integration})


# --- webhook subscriptions -------------------------------------------------------------------


@partner_admin_page
@needs_partner_admin_scope
def webhook_list(request: HttpRequest) -> HttpResponse:
    subscriptions = subscription_services.subscription_list(client=request.novacron)
    # A new secret is shown on the first page view after it was made, then never again.
    new_secret = request.session.pop(NEW_SECRET_SESSION_KEY, None)
    receiver = subscription_services.receiver_url(partner=request.partner)
    context = {
        "subscriptions": subscriptions,
        "new_secret": new_secret,
        "receiver_url": receiver,
        "previous_secret_expires_at": request.partner.previous_webhook_secret_expires_at
        if request.partner.previous_webhook_secret
        else None,
    }
    return render(request, "partners/webhook_list.html", context)


def _show_secret_once(request: HttpRequest, new_secret: subscription_services.NewSecret, *, rotated: bool) -> None:
    request.session[NEW_SECRET_SESSION_KEY] = {
        "subscription_id": new_secret.subscription_id,
        "url": new_secret.url,
        "secret": new_secret.secret,
        "rotated": rotated,
        "own_receiver": subscription_services.is_own_receiver(partner=request.partner, url=new_secret.url),
    }


@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def webhook_create(request: HttpRequest) -> HttpResponse:
    receiver = subscription_services.receiver_url(partner=request.partner)
    form = SubscriptionForm(request.POST or None, initial={"url": receiver, "events": ["vm.created"]})
    if request.method == "POST" and form.is_valid():
        try:
            new_secret = subscription_services.subscription_create(
                client=request.novacron,
                partner=request.partner,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except novacron_errors.ValidationError as exc:
            apply_api_field_errors(exc.fields, form)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            _show_secret_once(request, new_secret, rotated=False)
            messages.success(request, f"Subscribed {new_secret.url}.")
            return redirect("partners:webhook_list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "receiver_url": receiver, "receiver_subscriptions": _receiver_subscriptions(request)}
    return render(request, "partners/webhook_form.html", context, status=status)


def _receiver_subscriptions(request: HttpRequest) -> list[Any]:
    """Subscriptions that already deliver to this portal: a second one would send every event twice."""
    return [
        subscription
        for subscription in subscription_services.subscription_list(client=request.novacron)
        if subscription_services.is_own_receiver(partner=request.partner, url=subscription.url)
    ]


@dataclass(frozen=True)
class _SubscriptionRef:
    subscription_id: str


def _subscription(request: HttpRequest, subscription_id: str) -> Any:
    for subscription in subscription_services.subscription_list(client=request.novacron):
        if subscription.subscription_id == subscription_id:
            return subscription
    raise NotInYourOrganisation("This webhook subscription isn't in your organisation")


@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, subscription_id: str) -> HttpResponse:
    subscription = _subscription(request, subscription_id)
    if request.method == "POST":
        _not_found_as_404(
            lambda: subscription_services.subscription_delete(
                client=request.novacron, subscription_id=subscription_id
            )
        )
        messages.success(request, f"Unsubscribed {subscription.url}.")
        return redirect("partners:webhook_list")
    return render(request, "partners/webhook_confirm_delete.html", {"subscription": subscription})


@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def webhook_rotate_secret(request: HttpRequest, subscription_id: str) -> HttpResponse:
    subscription = _subscription(request, subscription_id)
    own_receiver = subscription_services.is_own_receiver(partner=request.partner, url=subscription.url)
    if request.method == "POST":
        new_secret = _not_found_as_404(
            lambda: subscription_services.subscription_rotate_secret(
                client=request.novacron, partner=request.partner, subscription_id=subscription_id
            )
        )
        _show_secret_once(request, new_secret, rotated=True)
        messages.success(request, "Secret rotated.")
        return redirect("partners:webhook_list")
    context = {"subscription": subscription, "own_receiver": own_receiver}
    return render(request, "partners/webhook_confirm_rotate.html", context)


@partner_admin_page
@needs_partner_admin_scope
@require_POST
def webhook_send_test(request: HttpRequest, subscription_id: str) -> HttpResponse:
    delivery = _not_found_as_404(
        lambda: subscription_services.subscription_send_test_event(
            client=request.novacron, subscription_id=subscription_id
        )
    )
    messages.success(
        request, f"Test event {delivery.event_id} queued for delivery ({delivery.status})."
    )
    return redirect("partners:webhook_deliveries", subscription_id=subscription_id)


@partner_admin_page
@needs_partner_admin_scope
def webhook_deliveries(request: HttpRequest, subscription_id: str) -> HttpResponse:
    """NovaCron's side of the log: every delivery of this subscription and its attempts."""
    status = request.GET.get("status") or ""
    if status not in {"", "pending", "retrying", "succeeded", "failed"}:
        status = ""
    # The fragment refreshes every few seconds: it needs no second API call for the subscription.
    subscription = _SubscriptionRef(subscription_id) if request.htmx else _subscription(request, subscription_id)
    page = subscription_services.delivery_list(
        client=request.novacron, subscription_id=subscription_id, status=status
    )
    # Refresh by itself only while something is still on its way (or nothing arrived yet), so an
    # opened response excerpt does not snap shut every few seconds.
    in_flight = not page.data or any(d.status in ("pending", "retrying") for d in page.data)
    context = {"subscription": subscription, "deliveries": page.data, "page": page, "status": status,
               "in_flight": in_flight}
    if request.htmx:
        return render(request, "partners/webhook_deliveries.html#deliveries", context)
    return render(request, "partners/webhook_deliveries.html", context)


@partner_admin_page
@needs_partner_admin_scope
@require_POST
def delivery_redeliver(request: HttpRequest, subscription_id: str, delivery_id: str) -> HttpResponse:
    delivery = _not_found_as_404(
        lambda: subscription_services.delivery_redeliver(
            client=request.novacron, subscription_id=subscription_id, delivery_id=delivery_id
        )
    )
    messages.success(request, f"Event {delivery.event_id} will be delivered again.")
    return redirect("partners:webhook_deliveries", subscription_id=subscription_id)


# --- the portal's side of the delivery log ---------------------------------------------------


@partner_admin_page
def received_log(request: HttpRequest) -> HttpResponse:
    """What NovaCron posted to our receiver: accepted events and refused deliveries.

    Reads only the local store, so it needs no scope. The rows arrive live (topic `webhook-log`,
    replacing `#received-rows`); htmx also polls `?rows=1` for them, so the page keeps up without
    the stream.
    """
    entries = delivery_log.received_log(partner=request.partner)
    context = {"entries": entries}
    if request.htmx and request.GET.get("rows"):
        return render(request, "partners/received_log.html#rows", context)
    return render(request, "partners/received_log.html", context)


def _received_event_or_404(request: HttpRequest, pk: int) -> Any:
    try:
        return delivery_log.received_event(partner=request.partner, pk=pk)
    except WebhookEvent.DoesNotExist as exc:
        raise NotInYourOrganisation("This received event isn't in your organisation") from exc


@partner_admin_page
def received_payload(request: HttpRequest, pk: int) -> HttpResponse:
    event = _received_event_or_404(request, pk)
    payload = json.dumps(event.payload, indent=2, sort_keys=True)
    template = "partners/received_payload.html#viewer" if request.htmx else "partners/received_payload.html"
    return render(request, template, {"event": event, "payload": payload})


@partner_admin_page
@require_POST
def received_reprocess(request: HttpRequest, pk: int) -> HttpResponse:
    event = _received_event_or_404(request, pk)
    from webhooks.services import webhook_event_reprocess

    if event.status == WebhookEvent.Status.IGNORED:
        messages.info(request, f"Event {event.event_id} is of a kind the portal does not apply: nothing to reprocess.")
    else:
        webhook_event_reprocess(event=event)
        messages.success(request, f"Event {event.event_id} queued for processing again.")
    if request.htmx:  # type: ignore[attr-defined]
        # Rows pushed by the live stream are shared by the partner's users and so carry no CSRF token:
        # their button posts through htmx (the page's X-CSRFToken header) and the page reloads.
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return redirect("partners:received_log")
