from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import partner_required
from accounts.http import PortalRequest
from audit.trail import audited, not_audited
from lib.http_errors import organisation_object_or_404
from webhooks.selectors import notification_list
from webhooks.services import MAX_BODY_BYTES, notification_acknowledge, webhook_delivery_receive
from webhooks.tasks import process_webhook_event
from webhooks.throttle import refusals_retry_after
from webhooks.writer import run_as_writer


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over the limit (checked before and while reading)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


@not_audited("NovaCron's deliveries, not a person's write: the received log keeps each one")
@csrf_exempt
@require_POST
def receive(request: HttpRequest, partner_id: str) -> HttpResponse:
    """NovaCron's deliveries: verify over the raw body, store once, answer at once, process in Celery.

    An address past its refusals for the minute gets 429 before anything else: the body is not read,
    no signature is computed and the database is not touched (webhooks.throttle).
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    retry_after = refusals_retry_after(remote_addr)
    if retry_after is not None:
        return JsonResponse(
            {"error": {"code": "too_many_refusals"}}, status=429, headers={"Retry-After": str(retry_after)}
        )
    outcome = run_as_writer(
        webhook_delivery_receive,
        partner_id=partner_id,
        body=_read_body(request),
        headers=dict(request.headers),
        remote_addr=remote_addr,
        enqueue=lambda pk: process_webhook_event.delay(pk),
    )
    return JsonResponse(outcome.body, status=outcome.status)


@require_GET
@partner_required
def notifications(request: PortalRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    page = Paginator(notification_list(partner=request.partner, open_only=show != "all"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "webhooks/notifications.html", {"page": page, "show": show})


@audited("notification.acknowledge", object_type="notification", object_id="pk")
@require_POST
@partner_required
def acknowledge(request: PortalRequest, pk: int) -> HttpResponse:
    notification = organisation_object_or_404(
        notification_list(partner=request.partner, open_only=False), "notification", pk=pk
    )
    notification_acknowledge(notification=notification, user=request.user)
    messages.success(request, "Notification acknowledged.")
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("webhooks:notifications")
    return redirect(next_url)
