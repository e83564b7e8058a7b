from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from novacron.errors import NovaCronError

from partners.clients import partner_client
from partners.delivery_log import webhook_log_publish
from partners.models import Partner
from vms.migration_services import migrations_poll_stale
from vms.models import Migration
from webhooks.services import webhook_event_process, webhook_events_pending

logger = logging.getLogger(__name__)


@shared_task(
    name="webhooks.process_webhook_event",
    autoretry_for=(Exception,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def process_webhook_event(event_pk: int) -> str:
    return webhook_event_process(event_pk=event_pk).status


@shared_task(name="webhooks.publish_webhook_log")
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
