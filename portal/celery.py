"""The Celery application: configuration comes from Django settings (CELERY_*)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import after_task_publish, setup_logging, task_postrun, task_prerun, worker_ready

from lib.logs import task_id as current_task_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs: Any) -> None:
    """Keep Django's LOGGING (JSON lines, request and task ids, scrubbing) in the worker too.

    With a receiver on this signal Celery leaves the root logger alone instead of installing its
    own handler and format; the worker's `-l` level gives way to LOG_LEVEL.
    """
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
def _remember_task_id(task_id: str | None = None, **kwargs: Any) -> None:
    current_task_id.set(task_id)


@task_postrun.connect
def _forget_task_id(**kwargs: Any) -> None:
    # A worker process runs task after task: the next one's lines must not carry this id.
    current_task_id.set(None)


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
