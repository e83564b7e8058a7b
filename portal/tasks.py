"""Tasks that belong to no single app (listed in CELERY_IMPORTS: portal is not an installed app)."""

from __future__ import annotations

from celery import shared_task

from portal.retention import old_records_prune


@shared_task(name="portal.prune_old_records")
def prune_old_records() -> dict[str, int]:
    return old_records_prune()
