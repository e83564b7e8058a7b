"""Webhook subscriptions at NovaCron, and the webhook secrets the portal's own receiver checks.

A subscription whose URL is the portal's receiver must be signed with the partner's
`webhook_secret`, or the receiver rejects every delivery. Every such subscription therefore shares
that secret, and rotating it rotates all of them at once, keeping the old one valid for 24 hours so
deliveries already in flight (and retries) still verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from novacron.errors import NotFoundError

from partners.models import Partner
from partners.services import new_webhook_secret, webhook_receiver_url

if TYPE_CHECKING:
    import novacron
    from novacron.models import Delivery, Page, WebhookSubscription

PREVIOUS_SECRET_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class NewSecret:
    """A secret to show to the user exactly once, and what it belongs to."""

    subscription_id: str
    url: str
    secret: str


def generate_webhook_secret() -> str:
    """A fresh signing secret (secrets.token_urlsafe inside)."""
    return new_webhook_secret()


def receiver_url(*, partner: Partner) -> str:
    """The portal's own webhook receiver for this partner."""
    return webhook_receiver_url(partner)


def is_own_receiver(*, partner: Partner, url: str) -> bool:
    return url.rstrip("/") == receiver_url(partner=partner).rstrip("/")


def subscription_list(*, client: novacron.Client) -> list[WebhookSubscription]:
    return list(client.list_webhooks(limit=100).auto_paging_iter())


def subscription_create(
    *, client: novacron.Client, partner: Partner, url: str, events: list[str]
) -> NewSecret:
    secret = own_receiver_secret(partner=partner) if is_own_receiver(partner=partner, url=url) else None
    secret = secret or generate_webhook_secret()
    subscription = client.subscribe_webhook(events, url, secret)
    return NewSecret(subscription_id=subscription.subscription_id, url=subscription.url, secret=secret)


@transaction.atomic
def own_receiver_secret(*, partner: Partner) -> str:
    """The secret our receiver verifies this partner's deliveries with, created on first use."""
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    if not locked.webhook_secret:
        locked.webhook_secret = generate_webhook_secret()
        locked.save(update_fields=["webhook_secret", "updated_at"])
    partner.webhook_secret = locked.webhook_secret
    return locked.webhook_secret


def subscription_rotate_secret(
    *, client: novacron.Client, partner: Partner, subscription_id: str, now: datetime | None = None
) -> NewSecret:
    """Give the subscription a new secret at NovaCron; for the portal's receiver, keep the old one
    valid for 24 hours and move every subscription to that receiver onto the new secret."""
    subscriptions = subscription_list(client=client)
    target = next((s for s in subscriptions if s.subscription_id == subscription_id), None)
    if target is None:
        raise NotFoundError(f"no webhook subscription {subscription_id}", status=404, code="not_found")
    secret = generate_webhook_secret()
    if not is_own_receiver(partner=partner, url=target.url):
        rotated = client.update_webhook(subscription_id, {"secret": secret})
        return NewSecret(subscription_id=rotated.subscription_id, url=rotated.url, secret=secret)

    # The receiver learns the new secret first (the old one stays valid), so no delivery signed
    # with either is rejected while NovaCron switches over. No lock is held during the API calls.
    before = _receiver_secrets_replace(partner=partner, secret=secret, now=now or timezone.now())
    try:
        for subscription in subscriptions:
            if is_own_receiver(partner=partner, url=subscription.url):
                client.update_webhook(subscription.subscription_id, {"secret": secret})
    except Exception:
        _receiver_secrets_restore(partner=partner, before=before)
        raise
    return NewSecret(subscription_id=target.subscription_id, url=target.url, secret=secret)


_SECRET_FIELDS = ["webhook_secret", "previous_webhook_secret", "previous_webhook_secret_expires_at"]


def keep_previous_webhook_secret(*, partner: Partner, previous: str, now: datetime | None = None) -> None:
    """Let the receiver accept `previous` for the grace period (the caller saves the partner)."""
    if previous:
        partner.previous_webhook_secret = previous
        partner.previous_webhook_secret_expires_at = (now or timezone.now()) + PREVIOUS_SECRET_GRACE


@transaction.atomic
def _receiver_secrets_replace(*, partner: Partner, secret: str, now: datetime) -> dict[str, object]:
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    before = {name: getattr(locked, name) for name in _SECRET_FIELDS}
    keep_previous_webhook_secret(partner=locked, previous=locked.webhook_secret, now=now)
    locked.webhook_secret = secret
    locked.save(update_fields=[*_SECRET_FIELDS, "updated_at"])
    for name in _SECRET_FIELDS:
        setattr(partner, name, getattr(locked, name))
    return before


@transaction.atomic
def _receiver_secrets_restore(*, partner: Partner, before: dict[str, object]) -> None:
    """NovaCron refused the new secret: keep verifying with the one it still signs with."""
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    for name, value in before.items():
        setattr(locked, name, value)
        setattr(partner, name, value)
    locked.save(update_fields=[*_SECRET_FIELDS, "updated_at"])


def subscription_delete(*, client: novacron.Client, subscription_id: str) -> None:
    client.delete_webhook(subscription_id)


def subscription_send_test_event(*, client: novacron.Client, subscription_id: str) -> Delivery:
    return client.send_test_event(subscription_id)


def delivery_list(*, client: novacron.Client, subscription_id: str, status: str | None = None) -> Page[Delivery]:
    return client.list_deliveries(subscription_id, status=status or None, limit=50)


def delivery_redeliver(*, client: novacron.Client, subscription_id: str, delivery_id: str) -> Delivery:
    return client.redeliver(subscription_id, delivery_id)


def expired_webhook_secrets_drop(*, now: datetime | None = None) -> int:
    """Forget previous webhook secrets whose grace period is over; returns how many were dropped."""
    now = now or timezone.now()
    return Partner.objects.filter(previous_webhook_secret_expires_at__lte=now).update(
        previous_webhook_secret="", previous_webhook_secret_expires_at=None, updated_at=now
    )
