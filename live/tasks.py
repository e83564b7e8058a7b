from __future__ import annotations

from celery import shared_task

from live.services import events_prune


@shared_task(name="live.prune_events")
def prune_events() -> int:
    return events_prune()
