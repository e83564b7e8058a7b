"""With Redis or PostgreSQL, a publish wakes the stream instead of leaving it to its next poll."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection

from live.services import publish
from live.streams import event_stream

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WAIT = 10.0


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


async def _first_event_id(partner: Any, backend: str) -> tuple[int, int]:
    stream = event_stream(partner_pk=partner.pk, after_id=0, backend=backend)
    await asyncio.wait_for(anext(stream), WAIT)  # opened and subscribed
    # Let the stream finish its first read and park in its wait before publishing.
    await asyncio.sleep(0.2)
    event = await sync_to_async(publish)(
        partner=partner, topic="migration", html=f"<p id='{uuid.uuid4()}'></p>"
    )
    chunk = await asyncio.wait_for(anext(stream), WAIT)
    await stream.aclose()
    return event.pk, int(chunk.split("\n", 1)[0].removeprefix("id: "))


@pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_a_redis_publish_wakes_a_waiting_stream(partner, settings):
    settings.REDIS_URL = REDIS_URL
    # Safety polls so rare that only the pub/sub message can deliver the event in time.
    settings.LIVE_SAFETY_POLL_SECONDS = 3600
    settings.LIVE_KEEPALIVE_SECONDS = 3600
    published, received = async_to_sync(_first_event_id)(partner, "redis")
    assert received == published


@pytest.mark.skipif(connection.vendor != "postgresql", reason="runs when DATABASE_URL is PostgreSQL")
def test_a_postgresql_notify_wakes_a_listening_stream(partner, settings):
    settings.REDIS_URL = ""
    settings.LIVE_SAFETY_POLL_SECONDS = 3600
    settings.LIVE_KEEPALIVE_SECONDS = 3600
    published, received = async_to_sync(_first_event_id)(partner, "postgresql")
    assert received == published


def test_a_broken_redis_degrades_to_polling(partner, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.LIVE_POLL_INTERVAL = 0.05
    settings.LIVE_SAFETY_POLL_SECONDS = 0.05
    published, received = async_to_sync(_first_event_id)(partner, "redis")
    assert received == published


@pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_streams_of_one_process_share_a_single_listener_and_all_wake(partner, other_partner, settings):
    from live.wakeups import notification_hub

    settings.REDIS_URL = REDIS_URL
    settings.LIVE_SAFETY_POLL_SECONDS = 3600
    settings.LIVE_KEEPALIVE_SECONDS = 3600

    async def scenario() -> tuple[list[int], int, int]:
        streams = [
            event_stream(partner_pk=p.pk, after_id=0, backend="redis")
            for p in (partner, partner, other_partner)
        ]
        for stream in streams:
            await asyncio.wait_for(anext(stream), WAIT)
        await asyncio.sleep(0.2)
        hub = notification_hub("redis")
        listeners, acme_waiters = (1 if hub._task is not None else 0), len(hub.waiters[partner.pk])
        event = await sync_to_async(publish)(partner=partner, topic="vm", html="<p id='x'></p>")
        received = [int((await asyncio.wait_for(anext(s), WAIT)).split("\n", 1)[0][4:]) for s in streams[:2]]
        for stream in streams:
            await stream.aclose()
        assert received == [event.pk, event.pk]
        return received, listeners, acme_waiters

    _, listeners, acme_waiters = async_to_sync(scenario)()
    assert listeners == 1
    # The partner's two streams wait through its one feed (live/feeds.py), not one waiter each.
    assert acme_waiters == 1
