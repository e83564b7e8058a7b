"""The retention settings applied: each app prunes its own tables, this says how old is old."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings

from audit.services import entries_prune as audit_entries_prune
from vms.retention import sync_runs_prune
from webhooks.retention import notifications_prune, webhook_events_prune, webhook_rejections_prune

logger = logging.getLogger(__name__)


def old_records_prune() -> dict[str, int]:
    """Delete every table's rows past its retention; how many went, per table.

    The live outbox is not here: it keeps events for an hour, not days, and has its own
    ten-minute job (live.prune_events).
    """
    days = timedelta(days=1)
    deleted = {
        "webhook_events": webhook_events_prune(older_than=settings.RETENTION_WEBHOOK_EVENTS_DAYS * days),
        "webhook_rejections": webhook_rejections_prune(
            older_than=settings.RETENTION_WEBHOOK_REJECTIONS_DAYS * days
        ),
        "sync_runs": sync_runs_prune(older_than=settings.RETENTION_SYNC_RUNS_DAYS * days),
        "notifications": notifications_prune(older_than=settings.RETENTION_NOTIFICATIONS_DAYS * days),
        "audit_entries": audit_entries_prune(older_than=settings.AUDIT_RETENTION_DAYS * days),
    }
    if any(deleted.values()):
        logger.info("pruned old records: %s", ", ".join(f"{n} {table}" for table, n in deleted.items()))
    return deleted
