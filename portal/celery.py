"""The Celery application: configuration comes from Django settings (CELERY_*)."""
from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import after_task_publish, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _subscribe_webhooks_at_start(sender: Any = None, **kwargs: Any) -> None:
    """A fresh worker makes sure NovaCron knows where to send events, without waiting for beat."""
    app.send_task("partners.tasks.ensure_webhook_subscriptions")


@worker_ready.connect
def _sync_at_start(sender: Any = None, **kwargs: Any) -> None:
    """Fill the cache now: beat's first runs come only after a full interval (30 s for the VMs,
    60 s for quotas), and until then a first visitor would see an empty fleet."""
    app.send_task("vms.sync_all_vms_incremental")
    app.send_task("vms.sync_all_partners")


@worker_ready.connect
def _heartbeat_at_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that just started counts as alive before beat's first heartbeat reaches it."""
    from portal import health

    health.heartbeat_record(source="worker")


# Only beat queues the heartbeat task, so publishing it is beat's own sign of life.
@after_task_publish.connect(sender="portal.heartbeat")
def _beat_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    from portal import health

    health.heartbeat_record(source="beat")
