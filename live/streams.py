"""The Server-Sent Events stream of one partner's outbox, as an async generator of text chunks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from django.conf import settings

from live.models import Event
from live.selectors import aevents_after
from live.wakeups import open_wakeup, safety_poll_interval

BATCH = 100


def format_event(event: Event) -> str:
    """One SSE message; a multi-line fragment becomes several `data:` lines (the client rejoins them)."""
    lines = [f"id: {event.pk}", f"event: {event.topic}"]
    lines += [f"data: {line}" for line in (event.html.splitlines() or [""])]
    return "\n".join(lines) + "\n\n"


def keepalive_seconds() -> float:
    return settings.LIVE_KEEPALIVE_SECONDS


async def event_stream(*, partner_pk: int, after_id: int, backend: str | None = None) -> AsyncIterator[str]:
    """Every event of the partner after `after_id`, then each new one as it is published; forever.

    The wake-up is subscribed before the first read, so an event published between a read and the
    next wait still wakes us. Comments keep idle connections (and proxies) alive.
    """
    wakeup = await open_wakeup(partner_pk=partner_pk, backend=backend)
    try:
        # Reconnect after 2 s when the connection drops; the browser sends Last-Event-ID.
        yield "retry: 2000\n: connected\n\n"
        last_sent = time.monotonic()
        while True:
            events = await aevents_after(partner_pk=partner_pk, after_id=after_id, limit=BATCH)
            for event in events:
                after_id = event.pk
                yield format_event(event)
            if events:
                last_sent = time.monotonic()
                if len(events) == BATCH:
                    continue
            idle = time.monotonic() - last_sent
            if idle >= keepalive_seconds():
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
                idle = 0.0
            await wakeup.wait(min(safety_poll_interval(), keepalive_seconds() - idle))
    finally:
        await wakeup.close()
