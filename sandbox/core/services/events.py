"""Platform events and their fan-out to webhook subscriptions (delivered later by the engine)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from sandbox.core.ids import new_id
from sandbox.core.models import Delivery, Partner, PlatformEvent, WebhookSubscription
from sandbox.engine import faults


def event_emit(
    *, partner: Partner | str, event_type: str, data: dict[str, Any], now: datetime | None = None
) -> PlatformEvent:
    now = now or timezone.now()
    partner_id = partner if isinstance(partner, str) else partner.partner_id
    event = PlatformEvent.objects.create(
        event_id=new_id("evt_", 12), partner_id=partner_id, event_type=event_type, data=data, created_at=now
    )
    subscriptions = WebhookSubscription.objects.filter(partner_id=partner_id, status="active")
    matching = [s for s in subscriptions if event_type in s.events]
    if matching:
        Delivery.objects.bulk_create([delivery_for(subscription=s, event=event, now=now) for s in matching])
    return event


def delivery_for(*, subscription: WebhookSubscription, event: PlatformEvent, now: datetime) -> Delivery:
    delay = float(faults.current().get("webhook_delay_seconds") or 0)
    return Delivery(
        delivery_id=new_id("dlv_", 12),
        subscription=subscription,
        event=event,
        status="pending",
        next_attempt_at=now + timedelta(seconds=delay),
        created_at=now,
    )


def webhook_payload(event: PlatformEvent) -> dict[str, Any]:
    from sandbox.core.serializers import iso

    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "timestamp": iso(event.created_at),
        "partner_id": event.partner_id,
        "data": event.data,
    }
