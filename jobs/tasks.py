"""Celery tasks of jobs: thin adapters taking pks (the beat's tick in settings)."""

from __future__ import annotations

from celery import shared_task

from jobs import publishing, services
from jobs.models import Job


@shared_task(name="jobs.advance")
def advance(job_pk: int) -> int:
    return len(services.job_advance(job_pk))


@shared_task(name="jobs.run_item")
def run_item(item_pk: int, tries: int = 0) -> str:
    return services.item_run(item_pk, tries=tries)


@shared_task(name="jobs.cancel_migrations")
def cancel_migrations(job_pk: int) -> int:
    return services.job_cancel_migrations(job_pk)


@shared_task(name="jobs.publish_progress")
def publish_progress(job_pk: int) -> None:
    job = Job.objects.filter(pk=job_pk).first()
    if job is not None:
        publishing.job_changed(job)


@shared_task(name="jobs.tick")
def tick() -> int:
    return services.jobs_tick()
