"""The Server-Sent Events stream of one partner's outbox, as an async generator of text chunks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import connections

from live.feeds import subscribe
from live.models import EVERYONE, Event


def format_event(event: Event) -> str:
    """One SSE message; a multi-line fragment becomes several `data:` lines (the client rejoins them)."""
    lines = [f"id: {event.pk}", f"event: {event.topic}"]
    lines += [f"data: {line}" for line in (event.html.splitlines() or [""])]
    return "\n".join(lines) + "\n\n"


def hand_back_request_thread() -> None:
    """Let the thread Django gave this request end, now that only the stream is left to serve.

    Under ASGI each request gets a worker thread of its own (asgiref's ThreadSensitiveContext) for
    its sync parts, here the request_started signal and the sync-only middleware, and that thread
    lives until the request ends: for a stream, as long as its page. Its work is done once the
    response streams, so we close whatever database connection it opened and let it exit; a sync
    call later in this request (the response's close) gets a fresh thread that Django ends with the
    request. Outside such a context (a test calling the generator) there is nothing to hand back.
    """
    request_context = SyncToAsync.thread_sensitive_context.get(None)
    if request_context is None or getattr(request_context, "_executor", None) is not None:
        return  # no request thread, or one its caller owns and reuses
    executor = SyncToAsync.context_to_thread_executor.pop(request_context, None)
    if executor is not None:
        executor.submit(connections.close_all)
        executor.shutdown(wait=False)


def keepalive_seconds() -> float:
    return settings.LIVE_KEEPALIVE_SECONDS


# How often an open stream reads its viewer's audiences again (`recheck`): a role changed, a scope
# granted or an account disabled reaches an open page within this long, for one query per stream.
AUDIENCE_RECHECK_SECONDS = 30.0


async def event_stream(
    *,
    partner_pk: int,
    after_id: int,
    audiences: frozenset[str] = frozenset({EVERYONE}),
    backend: str | None = None,
    recheck: Callable[[], Awaitable[frozenset[str]]] | None = None,
) -> AsyncIterator[str]:
    """Every event of the partner after `after_id` that `audiences` may see, then each new one; forever.

    The stream joins its partner's feed before it says it is connected, so an event published from
    then on reaches it; it reads the outbox itself only to catch up (live/feeds.py). Comments keep
    idle connections (and proxies) alive. `recheck`, every `AUDIENCE_RECHECK_SECONDS`, gives the
    viewer's audiences as they are now; none left ends the stream (the page reconnects, and is refused
    or served anew).
    """
    hand_back_request_thread()
    subscription = await subscribe(
        partner_pk=partner_pk, after_id=after_id, audiences=audiences, backend=backend
    )
    try:
        # Reconnect after 2 s when the connection drops; the browser sends Last-Event-ID.
        yield "retry: 2000\n: connected\n\n"
        last_sent = checked = time.monotonic()
        while True:
            if recheck is not None and time.monotonic() - checked >= AUDIENCE_RECHECK_SECONDS:
                subscription.audiences = await recheck()
                checked = time.monotonic()
                if not subscription.audiences:
                    return
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
            until_recheck = AUDIENCE_RECHECK_SECONDS - (time.monotonic() - checked)
            await subscription.wait(min(keepalive_seconds() - idle, until_recheck))
    finally:
        await subscription.close()
