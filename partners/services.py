"""Writes about partners: credentials, rate-limit figures, the portal's webhook subscription."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from novacron.models import RateLimitInfo, WebhookSubscription

from partners.models import Partner

logger = logging.getLogger(__name__)

# Every event type NovaCron sends (docs/partner-api.md, "Webhook deliveries"); the portal wants all.
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    "vm.created",
    "vm.deleted",
    "vm.started",
    "vm.stopped",
    "migration.started",
    "migration.progress",
    "migration.completed",
    "migration.failed",
    "alert.critical",
    "quota.exceeded",
)


def record_rate_limit(partner: Partner, info: RateLimitInfo | None) -> None:
    """Remember the last X-RateLimit-* headers NovaCron sent for this partner (one UPDATE)."""
    if info is None:
        return
    Partner.objects.filter(pk=partner.pk).update(
        rate_limit_limit=info.limit, rate_limit_remaining=info.remaining, rate_limit_reset=info.reset
    )
    partner.rate_limit_limit, partner.rate_limit_remaining, partner.rate_limit_reset = (
        info.limit, info.remaining, info.reset)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@transaction.atomic
def partner_import(
    *, partner_id: str, name: str, api_key: str, api_secret: str, tier: str = "", type: str = ""
) -> Partner:
    """Create or update a partner with its HMAC credentials; a webhook secret is generated once."""
    partner = Partner.objects.select_for_update().filter(partner_id=partner_id).first()
    if partner is None:
        partner = Partner(partner_id=partner_id)
    partner.name = name or partner.name or partner_id
    partner.api_key, partner.api_secret = api_key, api_secret
    if tier in Partner.Tier.values:
        partner.tier = tier
    if type:
        partner.type = type
    if not partner.webhook_secret:
        partner.webhook_secret = new_webhook_secret()
    partner.save()
    return partner


def webhook_receiver_url(partner: Partner) -> str:
    return settings.WEBHOOK_RECEIVER_URL.format(partner_id=partner.partner_id)


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
    from partners.clients import partner_client

    if not partner.webhook_secret:
        partner.webhook_secret = new_webhook_secret()
        partner.save(update_fields=["webhook_secret", "updated_at"])
    url = webhook_receiver_url(partner)
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


def _subscription_for(subscriptions: object, url: str) -> WebhookSubscription | None:
    for subscription in subscriptions:  # type: ignore[attr-defined]
        if subscription.url == url:
            return subscription
    return None
