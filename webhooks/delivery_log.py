"""The portal's side of the delivery log: what NovaCron posted to our receiver, accepted or refused.

Accepted deliveries are `WebhookEvent` rows (signature valid, payload kept), listed one by one.
Refused ones are only counted, per reason and minute with their latest source addresses
(`WebhookRejection`: no payload, it was never proven to come from NovaCron), and shown in a table of
their own: however many refusals arrive, they never push an accepted event off the log. Both are
refreshed by the `WEBHOOK_LOG_TOPIC` live topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

from accounts.roles import PARTNER_ADMIN
from lib.times import rendered_in_utc
from partners.models import Partner
from webhooks.models import WebhookEvent, WebhookRejection
from webhooks.topics import WEBHOOK_LOG_TOPIC

LOG_LENGTH = 50
# Minutes of refusal counts the page shows (one row per reason and minute).
REFUSAL_ROWS = 30


@dataclass(frozen=True)
class LogEntry:
    """One line of the log: an accepted event."""

    row_id: str
    at: datetime
    event: WebhookEvent

    @property
    def signature_valid(self) -> bool:
        return True


def received_log(*, partner: Partner, limit: int = LOG_LENGTH) -> list[LogEntry]:
    """The partner's latest accepted deliveries, newest first (one query; refusals are not in it)."""
    events = WebhookEvent.objects.filter(partner=partner).order_by("-received_at", "-pk")[:limit]
    return [LogEntry(row_id=f"received-event-{e.pk}", at=e.received_at, event=e) for e in events]


def refusal_counts(*, partner: Partner, limit: int = REFUSAL_ROWS) -> list[WebhookRejection]:
    """The partner's latest refusal counts, newest minute first (one query)."""
    return list(WebhookRejection.objects.filter(partner=partner).order_by("-minute", "reason")[:limit])


def log_context(*, partner: Partner) -> dict[str, Any]:
    """What the page and its live refresh render: the accepted events and the refusal counts."""
    return {
        "entries": received_log(partner=partner),
        "refusals": refusal_counts(partner=partner),
        "live_topic": WEBHOOK_LOG_TOPIC,
    }


def received_event(*, partner: Partner, pk: int) -> WebhookEvent:
    """One stored event of this partner (another partner's id raises DoesNotExist)."""
    return WebhookEvent.objects.get(partner=partner, pk=pk)


def rows_html(*, partner: Partner, request: Any = None) -> str:
    """Both refreshed blocks, `#received-rows` and `#refusal-rows`, each swapped out of band."""
    context = {**log_context(partner=partner), "oob": True, "refusals_oob": True}
    return render_to_string("webhooks/received_log.html#rows", context, request) + render_to_string(
        "webhooks/received_log.html#refusals", context, request
    )


@rendered_in_utc
def webhook_log_publish(*, partner: Partner) -> None:
    """Push the refreshed log rows to the partner's open log pages (replaces `#received-rows` and `#refusal-rows`).

    Run by the `webhooks.publish_webhook_log` task, which the receiver (an event stored or refused) and
    processing queue at most once a second per partner (webhooks.services.webhook_log_refresh_soon); the
    whole block is sent so a repeated or missed message leaves the page right.
    """
    from live.services import publish

    publish(partner=partner, topic=WEBHOOK_LOG_TOPIC, html=rows_html(partner=partner), audience=PARTNER_ADMIN)
