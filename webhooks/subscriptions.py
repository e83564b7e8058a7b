"""Webhook subscriptions at NovaCron, and the webhook secrets the portal's own receiver checks.

`webhook_subscription_ensure` keeps the portal itself subscribed (beat and worker start-up, through
webhooks.tasks); the rest serves the partner admins' webhook pages.

A subscription whose URL is the portal's receiver must be signed with the partner's
`webhook_secret`, or the receiver rejects every delivery. Every such subscription therefore shares
that secret, and rotating it rotates all of them at once, keeping the old one valid for 24 hours so
deliveries already in flight (and retries) still verify.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from novacron.errors import NotFoundError
from novacron.models import EVENT_TYPES

from partners.clients import partner_client
from partners.models import Partner
from partners.services import keep_previous_webhook_secret, new_webhook_secret

if TYPE_CHECKING:
    import novacron
    from novacron.models import Delivery, Page, WebhookSubscription

logger = logging.getLogger(__name__)

# Every event type NovaCron sends (docs/partner-api.md, "Webhook deliveries"), the extension
# `migration.cancelled` included; the portal wants all.
WEBHOOK_EVENT_TYPES: tuple[str, ...] = EVENT_TYPES


@dataclass(frozen=True)
class NewSecret:
    """A secret to show to the user exactly once, and what it belongs to."""

    subscription_id: str
    url: str
    secret: str


def receiver_url(*, partner: Partner) -> str:
    """The portal's own webhook receiver for this partner."""
    return settings.WEBHOOK_RECEIVER_URL.format(partner_id=partner.partner_id)


def is_own_receiver(*, partner: Partner, url: str) -> bool:
    return url.rstrip("/") == receiver_url(partner=partner).rstrip("/")


def subscription_list(*, client: novacron.Client) -> list[WebhookSubscription]:
    return list(client.list_webhooks(limit=100).auto_paging_iter())


def form_webhook_secret(*, partner: Partner, idempotency_key: str | None) -> str:
    """The secret a form's request gives a subscription: the same for the same form key.

    NovaCron replays a POST only when its body is the same, and the body holds the secret: a double
    click must send the same one, or the repeat is a conflict. Derived from the key with the
    portal's SECRET_KEY (nothing stored); without a key, a random one.
    """
    if not idempotency_key:
        return new_webhook_secret()
    digest = salted_hmac(
        "webhooks.form_webhook_secret", f"{partner.pk}:{idempotency_key}", algorithm="sha256"
    ).digest()
    return "whsec_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def subscription_create(
    *,
    client: novacron.Client,
    partner: Partner,
    url: str,
    events: list[str],
    idempotency_key: str | None = None,
) -> NewSecret:
    """Subscribe at NovaCron; the same `idempotency_key` again (the form posted twice) subscribes once."""
    secret = own_receiver_secret(partner=partner) if is_own_receiver(partner=partner, url=url) else None
    secret = secret or form_webhook_secret(partner=partner, idempotency_key=idempotency_key)
    subscription = client.subscribe_webhook(events, url, secret, idempotency_key=idempotency_key)
    return NewSecret(subscription_id=subscription.subscription_id, url=subscription.url, secret=secret)


@transaction.atomic
def own_receiver_secret(*, partner: Partner) -> str:
    """The secret our receiver verifies this partner's deliveries with, created on first use."""
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    if not locked.webhook_secret:
        locked.webhook_secret = new_webhook_secret()
        locked.save(update_fields=["webhook_secret", "updated_at"])
    partner.webhook_secret = locked.webhook_secret
    return locked.webhook_secret


def subscription_rotate_secret(
    *,
    client: novacron.Client,
    partner: Partner,
    subscription_id: str,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> NewSecret:
    """Give the subscription a new secret at NovaCron; for the portal's receiver, keep the old one
    valid for 24 hours and move every subscription to that receiver onto the new secret.

    The same `idempotency_key` again (the form posted twice) rotates once: the same new secret is
    sent again (a PATCH to the same value changes nothing), and the receiver's previous secret stays
    the one before the rotation rather than becoming the new one."""
    subscriptions = subscription_list(client=client)
    target = next((s for s in subscriptions if s.subscription_id == subscription_id), None)
    if target is None:
        raise NotFoundError(f"no webhook subscription {subscription_id}", status=404, code="not_found")
    secret = form_webhook_secret(partner=partner, idempotency_key=idempotency_key)
    if not is_own_receiver(partner=partner, url=target.url):
        rotated = client.update_webhook(subscription_id, {"secret": secret})
        return NewSecret(subscription_id=rotated.subscription_id, url=rotated.url, secret=secret)

    # The receiver learns the new secret first (the old one stays valid), so no delivery signed
    # with either is rejected while NovaCron switches over. No lock is held during the API calls.
    before = _receiver_secrets_replace(partner=partner, secret=secret, now=now or timezone.now())
    if before is None:  # a repeat: the receiver already has this secret
        before = {name: getattr(partner, name) for name in _SECRET_FIELDS}
    try:
        for subscription in subscriptions:
            if is_own_receiver(partner=partner, url=subscription.url):
                client.update_webhook(subscription.subscription_id, {"secret": secret})
    except Exception:
        _receiver_secrets_restore(partner=partner, before=before)
        raise
    return NewSecret(subscription_id=target.subscription_id, url=target.url, secret=secret)


_SECRET_FIELDS = ["webhook_secret", "previous_webhook_secret", "previous_webhook_secret_expires_at"]


@transaction.atomic
def _receiver_secrets_replace(*, partner: Partner, secret: str, now: datetime) -> dict[str, object] | None:
    """The secrets before; None when the receiver has this secret already (nothing changed)."""
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    before = {name: getattr(locked, name) for name in _SECRET_FIELDS}
    if locked.webhook_secret == secret:
        for name in _SECRET_FIELDS:
            setattr(partner, name, getattr(locked, name))
        return None
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


def delivery_list(
    *, client: novacron.Client, subscription_id: str, status: str | None = None
) -> Page[Delivery]:
    return client.list_deliveries(subscription_id, status=status or None, limit=50)


def expired_webhook_secrets_drop(*, now: datetime | None = None) -> int:
    """Forget previous webhook secrets whose grace period is over; returns how many were dropped."""
    now = now or timezone.now()
    return Partner.objects.filter(previous_webhook_secret_expires_at__lte=now).update(
        previous_webhook_secret="", previous_webhook_secret_expires_at=None, updated_at=now
    )


# --- the portal's own subscription ----------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionOutcome:
    partner_id: str
    action: str  # "created" | "updated" | "unchanged"
    subscription_id: str


def webhook_subscription_ensure(*, partner: Partner) -> SubscriptionOutcome:
    """Make sure NovaCron sends every event to this portal's receiver, signed with our secret.

    Idempotent: finds the subscription for our receiver URL and only creates or patches what
    differs. The secret cannot be read back, so an existing subscription gets ours written again:
    after a restore of the portal's database, NovaCron would otherwise sign with a secret we lost.
    """
    if not partner.webhook_secret:
        partner.webhook_secret = new_webhook_secret()
        partner.save(update_fields=["webhook_secret", "updated_at"])
    url = receiver_url(partner=partner)
    wanted_events = sorted(WEBHOOK_EVENT_TYPES)
    with partner_client(partner) as client:
        existing = _subscription_for(client.list_webhooks(limit=500).auto_paging_iter(), url)
        if existing is None:
            created = client.subscribe_webhook(list(WEBHOOK_EVENT_TYPES), url, partner.webhook_secret)
            logger.info("webhook subscription %s created for %s", created.subscription_id, partner.partner_id)
            return SubscriptionOutcome(partner.partner_id, "created", created.subscription_id)
        changes: dict[str, object] = {"secret": partner.webhook_secret}
        if sorted(existing.events) != wanted_events:
            changes["events"] = list(WEBHOOK_EVENT_TYPES)
        if existing.status != "active":
            changes["status"] = "active"
        client.update_webhook(existing.subscription_id, changes)
        action = "updated" if len(changes) > 1 else "unchanged"
        return SubscriptionOutcome(partner.partner_id, action, existing.subscription_id)


def _subscription_for(subscriptions: Iterable[WebhookSubscription], url: str) -> WebhookSubscription | None:
    for subscription in subscriptions:
        if subscription.url == url:
            return subscription
    return None
