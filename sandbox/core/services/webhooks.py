"""Webhook subscriptions, test events and redelivery (sending is the engine's job: engine/delivery.py)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from sandbox.core.ids import new_id
from sandbox.core.models import VM, Delivery, Partner, PlatformEvent, WebhookSubscription
from sandbox.core.serializers import vm_json
from sandbox.core.services.events import delivery_for

WRITABLE = ("url", "events", "secret", "status")


def webhook_create(*, partner: Partner, url: str, events: list[str], secret: str) -> WebhookSubscription:
    now = timezone.now()
    return WebhookSubscription.objects.create(
        subscription_id=new_id("whs_", 8), partner=partner, url=url, events=list(dict.fromkeys(events)),
        secret=secret, created_at=now, updated_at=now,
    )  # fmt: skip


def webhook_update(*, subscription: WebhookSubscription, fields: dict[str, Any]) -> WebhookSubscription:
    for name in WRITABLE:
        if fields.get(name) is not None:
            value = fields[name]
            setattr(subscription, name, list(dict.fromkeys(value)) if name == "events" else value)
    subscription.updated_at = timezone.now()
    subscription.save()
    return subscription


def webhook_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()


def _sample_vm(partner: Partner) -> dict[str, Any]:
    vm = VM.objects.filter(partner=partner).exclude(status="deleted").order_by("created_at").first()
    if vm is not None:
        return vm_json(vm)
    now = timezone.now().isoformat().replace("+00:00", "Z")
    return {
        "vm_id": "vm-test", "partner_id": partner.partner_id, "name": "test-vm", "status": "running",
        "template": "ubuntu-24.04", "cpu_cores": 2, "memory_gb": 4, "disk_size_gb": 40, "network_id": "net-test",
        "cloud_provider": "aws", "region": "us-east-1", "cluster": "cl-aws-use1-a", "ip_address": "10.0.0.10",
        "tags": {}, "created_at": now, "updated_at": now, "deleted_at": None,
    }  # fmt: skip


def webhook_send_test(*, subscription: WebhookSubscription) -> Delivery:
    """A `vm.created` event with data.test = true, delivered to this subscription only."""
    now = timezone.now()
    event = PlatformEvent.objects.create(
        event_id=new_id("evt_", 12), partner=subscription.partner, event_type="vm.created",
        data={**_sample_vm(subscription.partner), "test": True}, created_at=now,
    )  # fmt: skip
    delivery = delivery_for(subscription=subscription, event=event, now=now)
    delivery.save()
    return delivery


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """A new attempt series for the same event (same event_id)."""
    now = timezone.now()
    fresh = delivery_for(subscription=delivery.subscription, event=delivery.event, now=now)
    fresh.save()
    return fresh
