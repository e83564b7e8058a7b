"""How long what NovaCron posted is kept: each prune deletes rows older than `older_than`."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from lib.pruning import delete_in_batches
from webhooks.models import Notification, WebhookEvent, WebhookRejection


def webhook_events_prune(*, older_than: timedelta) -> int:
    """Processed and ignored events; a pending one is still to be applied and a failed one can be
    reprocessed from the received log, so both stay whatever their age.

    Once an event is gone its id is unknown again, and a redelivery of it would be applied anew:
    the retention must be far longer than NovaCron goes on redelivering.
    """
    done = [WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED]
    cutoff = timezone.now() - older_than
    return delete_in_batches(WebhookEvent.objects.filter(status__in=done, received_at__lt=cutoff))


def webhook_rejections_prune(*, older_than: timedelta) -> int:
    """Refusal counts of minutes that ended before the cutoff."""
    return delete_in_batches(WebhookRejection.objects.filter(minute__lt=timezone.now() - older_than))


def notifications_prune(*, older_than: timedelta) -> int:
    """Acknowledged notifications: an open one is shown until someone acknowledges it."""
    cutoff = timezone.now() - older_than
    return delete_in_batches(
        Notification.objects.filter(acknowledged_at__isnull=False, created_at__lt=cutoff)
    )
