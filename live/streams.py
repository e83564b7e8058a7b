"""The Server-Sent Events stream of one partner's outbox, as an async generator of text chunks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from django.conf import settings

from live.feeds import subscribe
from live.models import EVERYONE, Event


def format_event(event: Event) -> str:
    """One SSE message; a multi-line fragment becomes several `data:` lines (the client rejoins them)."""
    lines = [f"id: {event.pk}", f"event: {event.topic}"]
    lines += [f"data: {line}" for line in (event.html.splitlines() or [""])]
    return "\n".join(lines) + "\n\n"


def keepalive_seconds() -> float:
    return float(getattr(settings, "LIVE_KEEPALIVE_SECONDS", 15.0))


async def event_stream(*, partner_pk: int, after_id: int, audiences: frozenset[str] = frozenset({EVERYONE}),
                       backend: str | None = None) -> AsyncIterator[str]:
    """Every event of the partner after `after_id` that `audiences` may see, then each new one; forever.

    The stream joins its partner's feed before it says it is connected, so an event published from
    then on reaches it; it reads the outbox itself only to catch up (live/feeds.py). Comments keep
    idle connections (and proxies) alive.
    """
    subscription = await subscribe(partner_pk=partner_pk, after_id=after_id, audiences=audiences, backend=backend)
    try:
        # Reconnect after 2 s when the connection drops; the browser sends Last-Event-ID.
        yield "retry: 2000\n: connected\n\n"
        last_sent = time.monotonic()
        while True:
            events = await subscription.next_events()
            for event in events:
                yield format_event(event)
            if events:
                last_sent = time.monotonic()
                continue
            idle = time.monotonic() - last_sent
            if idle >= keepalive_seconds():
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
                idle = 0.0
            await subscription.wait(keepalive_seconds() - idle)
    finally:
        await subscription.close()
