from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.db.models import Max

from live.models import Event

# Where open streams read the outbox: a few threads for the whole process, not one per page. Each
# partner's feed reads once per batch (live/feeds.py), so a handful is plenty whatever the pages.
READERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="live-read")


def latest_event_id(*, partner_pk: int) -> int:
    """The newest outbox id of the partner (0 when none): a page rendered now has seen up to here."""
    return Event.objects.filter(partner_id=partner_pk).aggregate(latest=Max("id"))["latest"] or 0


def release_connection() -> None:
    """Give this thread's database connection back after a read of an open stream.

    A stream lives as long as its page, and Django closes a request's connection only when the
    request ends: without this, every open page would hold a pooled PostgreSQL connection for
    hours. SQLite has no pool and nothing to exhaust, and reopening its file costs more than a read.
    """
    if connection.vendor != "sqlite":
        connection.close()


def _latest_event_id_released(partner_pk: int) -> int:
    try:
        return latest_event_id(partner_pk=partner_pk)
    finally:
        release_connection()


def _events_after_released(partner_pk: int, after_id: int, limit: int) -> list[Event]:
    try:
        return list(Event.objects.filter(partner_id=partner_pk, id__gt=after_id).order_by("id")[:limit])
    finally:
        release_connection()


async def in_reader_thread(read: Any, *args: Any) -> Any:
    """Run a read of the stream in one of the process's reader threads (not the request's own)."""
    return await sync_to_async(read, thread_sensitive=False, executor=READERS)(*args)


async def alatest_event_id(*, partner_pk: int) -> int:
    return int(await in_reader_thread(_latest_event_id_released, partner_pk))


async def aevents_after(*, partner_pk: int, after_id: int, limit: int = 100) -> list[Event]:
    """The partner's outbox rows after `after_id`, oldest first: never another partner's."""
    events: list[Event] = await in_reader_thread(_events_after_released, partner_pk, after_id, limit)
    return events
