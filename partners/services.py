"""Writes about partners: credentials, rate-limit figures, the webhook secrets our receiver checks."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from novacron.models import RateLimitInfo

from partners.models import Partner

# After a rotation the receiver accepts the previous webhook secret this long.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)


def record_rate_limit(partner: Partner, info: RateLimitInfo | None) -> None:
    """Remember the last X-RateLimit-* headers NovaCron sent for this partner (one UPDATE)."""
    if info is None:
        return
    Partner.objects.filter(pk=partner.pk).update(
        rate_limit_limit=info.limit, rate_limit_remaining=info.remaining, rate_limit_reset=info.reset
    )
    partner.rate_limit_limit, partner.rate_limit_remaining, partner.rate_limit_reset = (
        info.limit,
        info.remaining,
        info.reset,
    )


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


def keep_previous_webhook_secret(*, partner: Partner, previous: str, now: datetime | None = None) -> None:
    """Let the receiver accept `previous` for the grace period (the caller saves the partner)."""
    if previous:
        partner.previous_webhook_secret = previous
        partner.previous_webhook_secret_expires_at = (now or timezone.now()) + PREVIOUS_SECRET_GRACE
