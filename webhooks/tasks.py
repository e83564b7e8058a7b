from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from novacron.errors import NovaCronError

from partners.clients import partner_client
from partners.models import Partner
from vms.migration_services import migrations_poll_stale
from vms.models import Migration
from webhooks.delivery_log import webhook_log_publish
from webhooks.services import (
    PROCESS_EVENT_TASK,
    PUBLISH_LOG_TASK,
    webhook_event_process,
    webhook_events_pending,
)
from webhooks.subscriptions import expired_webhook_secrets_drop, webhook_subscription_ensure

logger = logging.getLogger(__name__)


@shared_task(
    name=PROCESS_EVENT_TASK,
    autoretry_for=(Exception,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def process_webhook_event(event_pk: int) -> str:
    return webhook_event_process(event_pk=event_pk).status


@shared_task(name=PUBLISH_LOG_TASK)
def publish_webhook_log(partner_pk: int) -> None:
    """Refresh the partner's open received-webhooks log pages (queued by webhook_log_refresh_soon)."""
    partner = Partner.objects.filter(pk=partner_pk).first()
    if partner is not None:
        webhook_log_publish(partner=partner)


@shared_task(name="webhooks.process_pending_events")
def process_pending_events() -> int:
    """Catch events whose task was lost (broker down at receipt): processing is idempotent."""
    pending = webhook_events_pending(older_than=timedelta(minutes=1))
    for event_pk in pending:
        process_webhook_event.delay(event_pk)
    return len(pending)


@shared_task(name="webhooks.poll_quiet_migrations")
def poll_quiet_migrations() -> int:
    """The lost-webhook fallback: active migrations with no recent event are refreshed through the API."""
    updated = 0
    active = Migration.objects.exclude(status__in=Migration.FINISHED).values_list("partner_id", flat=True)
    for partner in Partner.objects.filter(pk__in=set(active)):
        if not partner.api_key:
            continue
        try:
            with partner_client(partner) as client:
                updated += migrations_poll_stale(partner=partner, client=client)
        except NovaCronError:
            logger.warning("polling migrations of %s failed", partner.partner_id, exc_info=True)
    return updated


# The portal's own subscription at NovaCron. These two kept the names they had under `partners.tasks`:
# beat's schedule and the worker's start-up (portal.celery) queue them by name, and so may messages
# already in a broker.


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
    return expired_webhook_secrets_drop()
