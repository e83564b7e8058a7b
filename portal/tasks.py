"""Tasks that belong to no single app: the heartbeat and the retention job.

Beat queues the heartbeat every HEARTBEAT_INTERVAL_SECONDS and a worker runs it; beat's side is
recorded as it publishes (portal.celery), the worker's here, and `/healthz/status` reports both ages.
"""

from __future__ import annotations

from celery import shared_task

from portal import health
from portal.retention import old_records_prune

HEARTBEAT_TASK = "portal.heartbeat"


@shared_task(name=HEARTBEAT_TASK)
def heartbeat() -> None:
    health.heartbeat_record(source="worker")


@shared_task(name="portal.prune_old_records")
def prune_old_records() -> dict[str, int]:
    return old_records_prune()
