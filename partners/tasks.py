"""Background work about partners (Celery): keep the portal subscribed to NovaCron's webhooks."""

from __future__ import annotations

import logging

from celery import shared_task
from novacron.errors import NovaCronError

from partners.models import Partner
from partners.services import webhook_subscription_ensure

logger = logging.getLogger(__name__)


@shared_task(name="partners.tasks.ensure_webhook_subscriptions", ignore_result=True)
def ensure_webhook_subscriptions() -> dict[str, str]:
    """Each partner with credentials has an active subscription for every event, to our receiver."""
    outcomes: dict[str, str] = {}
    for partner in Partner.objects.exclude(api_key="").exclude(status="suspended"):
        try:
            outcome = webhook_subscription_ensure(partner=partner)
        except (NovaCronError, ValueError) as error:
            # One partner's failure (NovaCron down, credentials revoked) must not stop the others.
            logger.warning("webhook subscription for %s not ensured: %s", partner.partner_id, error)
            outcomes[partner.partner_id] = f"error: {error}"
        else:
            outcomes[partner.partner_id] = outcome.action
    return outcomes


@shared_task(name="partners.tasks.drop_expired_webhook_secrets", ignore_result=True)
def drop_expired_webhook_secrets() -> int:
    """After a rotation the receiver accepts the previous secret for 24 h; then it is forgotten."""
    from partners.subscription_services import expired_webhook_secrets_drop

    return expired_webhook_secrets_drop()
