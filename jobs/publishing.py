"""Pushing a job's progress to open pages, and notifying the partner when it ends.

The progress card (`job-progress-<job_id>`) is rendered after commit and published on the job topic;
many items settling at once are one render per second at most (`job_changed_soon`), and the end of
the job is always published (`job_changed`).
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from jobs import selectors, windows
from jobs.models import Job
from jobs.topics import JOB_TOPIC
from lib.debounce import run_soon
from lib.times import rendered_in_utc
from live.services import publish
from webhooks.models import Notification
from webhooks.services import notification_publish

PUBLISH_TASK = "jobs.publish_progress"
PUBLISH_WINDOW_SECONDS = 1.0
PUBLISH_DELAY_SECONDS = 1.2


def progress_context(job: Job) -> dict[str, Any]:
    progress = selectors.job_progress(job=job)
    return {
        "job": job,
        "progress": progress,
        "recent": selectors.job_recent_items(job=job),
        "throughput": progress.throughput_per_minute(),
        "eta": progress.eta_seconds(),
        "window": windows.window_view(
            job.window, starts_at=job.starts_at, finish_by=job.finish_by, status=job.status
        ),
    }


def job_changed(job: Job) -> None:
    """Publish the job's progress card once the current transaction commits."""

    @rendered_in_utc
    def send() -> None:
        fresh = Job.objects.select_related("partner").get(pk=job.pk)
        html = render_to_string("jobs/_progress.html", {**progress_context(fresh), "oob": True})
        publish(partner=fresh.partner, topic=JOB_TOPIC, html=html)

    transaction.on_commit(send)


def job_changed_soon(job: Job) -> None:
    """Have the progress published within about a second: many items settling make one render."""
    transaction.on_commit(
        lambda: run_soon(
            current_app.tasks[PUBLISH_TASK],
            name="job-progress",
            key=job.pk,
            window=PUBLISH_WINDOW_SECONDS,
            delay=PUBLISH_DELAY_SECONDS,
        )
    )


def job_notify(job: Job) -> None:
    """One notification per job end: "finished", or "needs attention" when items failed."""
    progress = selectors.job_progress(job=job)
    attention = progress.failed > 0
    kind = "job.attention" if attention else "job.finished"
    verb = {"start": "Start", "stop": "Stop", "delete": "Delete", "migrate": "Migration"}[job.kind]
    vms = "1 VM" if progress.total == 1 else f"{progress.total} VMs"
    title = f"{verb} of {vms} {'needs attention' if attention else job.status}"
    if job.evacuated_cluster:
        title = (
            f"Evacuation of {job.evacuated_cluster} ({vms}) {'needs attention' if attention else job.status}"
        )
    message = f"{progress.done} done, {progress.failed} failed, {progress.skipped} skipped."
    notification, created = Notification.objects.get_or_create(
        partner=job.partner,
        source_event_id=f"{job.job_id}:{job.finished_at.isoformat() if job.finished_at else 'end'}",
        defaults={
            "kind": kind,
            "title": title,
            "message": message,
            "data": {"job_id": job.job_id},
            "created_at": timezone.now(),
        },
    )
    if created:
        notification_publish(notification=notification)
