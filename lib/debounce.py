"""Run a Celery task soon, at most once per window per key: for refreshes many changes can ask for."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)


def run_soon(task: Any, *, name: str, key: int, window: float, delay: float) -> None:
    """Queue `task(key)` to run `delay` seconds from now, at most once per `key` per `window`.

    The delay is longer than the window, so the one run sees every change made during it. A refresh
    is a nicety (beat and the pages' polling catch up anyway): failing to queue it only logs. The
    lock is in the shared cache, so it holds across web processes and workers.
    """
    lock = f"debounce:{name}:{key}"
    if not cache.add(lock, 1, timeout=window):
        return  # a run is already queued and will include this change
    try:
        task.apply_async((key,), countdown=delay)
    except Exception:
        cache.delete(lock)
        logger.warning("could not queue the %s of %s", name, key, exc_info=True)
