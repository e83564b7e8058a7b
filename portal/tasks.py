"""The heartbeat: beat queues it every HEARTBEAT_INTERVAL_SECONDS and a worker runs it.

Beat's side is recorded as it publishes (portal.celery), the worker's here; `/healthz/status`
reports both ages.
"""

from __future__ import annotations

from celery import shared_task

from portal import health

HEARTBEAT_TASK = "portal.heartbeat"


@shared_task(name=HEARTBEAT_TASK)
def heartbeat() -> None:
    health.heartbeat_record(source="worker")
