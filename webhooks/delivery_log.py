"""The portal's side of the delivery log: what NovaCron posted to our receiver, accepted or refused.

Accepted deliveries are `WebhookEvent` rows (signature valid, payload kept); refused ones are
`WebhookRejection` rows (no payload: it was never proven to come from NovaCron). The page shows both
in one timeline, newest first, and is refreshed by the `WEBHOOK_LOG_TOPIC` live topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

from accounts.roles import PARTNER_ADMIN
from partners.models import Partner
from webhooks.models import WebhookEvent, WebhookRejection
from webhooks.topics import WEBHOOK_LOG_TOPIC

LOG_LENGTH = 50


@dataclass(frozen=True)
class LogEntry:
    """One line of the log: an accepted event or a refused delivery."""

    row_id: str
    at: datetime
    event: WebhookEvent | None = None
    rejection: WebhookRejection | None = None

    @property
    def signature_valid(self) -> bool:
        return self.event is not None


def received_log(*, partner: Partner, limit: int = LOG_LENGTH) -> list[LogEntry]:
    """The partner's latest received deliveries, both kinds merged by time (two queries)."""
    events = WebhookEvent.objects.filter(partner=partner).order_by("-received_at", "-pk")[:limit]
    rejections = WebhookRejection.objects.filter(partner=partner).order_by("-rejected_at", "-pk")[:limit]
    entries = [LogEntry(row_id=f"received-event-{e.pk}", at=e.received_at, event=e) for e in events]
    entries += [
        LogEntry(row_id=f"received-rejection-{r.pk}", at=r.rejected_at, rejection=r) for r in rejections
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def received_event(*, partner: Partner, pk: int) -> WebhookEvent:
    """One stored event of this partner (another partner's id raises DoesNotExist)."""
    return WebhookEvent.objects.get(partner=partner, pk=pk)


def rows_html(*, partner: Partner, request: Any = None) -> str:
    return render_to_string(
        "webhooks/received_log.html#rows",
        {"entries": received_log(partner=partner), "oob": True, "live_topic": WEBHOOK_LOG_TOPIC},
        request,
    )


def webhook_log_publish(*, partner: Partner) -> None:
    """Push the refreshed log rows to the partner's open log pages (replaces `#received-rows`).

    Run by the `webhooks.publish_webhook_log` task, which the receiver (an event stored or refused) and
    processing queue at most once a second per partner (webhooks.services.webhook_log_refresh_soon); the
    whole block is sent so a repeated or missed message leaves the page right.
    """
    from live.services import publish

    publish(partner=partner, topic=WEBHOOK_LOG_TOPIC, html=rows_html(partner=partner), audience=PARTNER_ADMIN)
