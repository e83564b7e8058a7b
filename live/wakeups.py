"""How an open stream learns that its partner has new events.

With Redis or PostgreSQL, each web process keeps ONE listener (a Redis subscription or a LISTEN
connection) per event loop, shared by all its open streams: a notification names the partner and
wakes only that partner's streams. Without them (the embedded SQLite default) streams poll the
outbox table. Every wait also ends after `timeout`, so a lost notification costs one safety poll,
and while the listener is down (reconnecting) streams fall back to polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

from django.conf import settings
from django.db import connections

from live.services import CHANNEL, wakeup_backend

logger = logging.getLogger(__name__)

LISTENER_READY_TIMEOUT = 2.0
RECONNECT_DELAY = 1.0


def poll_interval() -> float:
    return settings.LIVE_POLL_INTERVAL


def safety_poll_interval() -> float:
    """With notifications, still look at the table this often in case one was lost."""
    return settings.LIVE_SAFETY_POLL_SECONDS


class Wakeup(Protocol):
    async def open(self) -> None: ...
    async def wait(self, timeout: float) -> None: ...
    async def close(self) -> None: ...


class PollWakeup:
    """No notifications: sleep one poll interval."""

    async def open(self) -> None:
        return None

    async def wait(self, timeout: float) -> None:
        await asyncio.sleep(max(0.0, min(poll_interval(), timeout)))

    async def close(self) -> None:
        return None


class NotificationHub:
    """The process's listener for one backend on one event loop; runs while any stream uses it."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.waiters: dict[int, set[asyncio.Event]] = {}
        self.ready = asyncio.Event()
        self.failed_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, partner_pk: int) -> asyncio.Event:
        event = asyncio.Event()
        self.waiters.setdefault(partner_pk, set()).add(event)
        if self._task is None or self._task.done():
            self.ready.clear()
            self._task = asyncio.get_running_loop().create_task(self._run())
        return event

    async def remove(self, partner_pk: int, event: asyncio.Event) -> None:
        partner_waiters = self.waiters.get(partner_pk, set())
        partner_waiters.discard(event)
        if not partner_waiters:
            self.waiters.pop(partner_pk, None)
        if not self.waiters and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self.ready.clear()

    def _wake(self, payload: str | bytes) -> None:
        text = payload.decode() if isinstance(payload, bytes) else payload
        try:
            partner_pk = int(text.split(":", 1)[0])
        except ValueError:
            return
        for event in self.waiters.get(partner_pk, ()):
            event.set()

    def _wake_everyone(self) -> None:
        for partner_waiters in self.waiters.values():
            for event in partner_waiters:
                event.set()

    async def _run(self) -> None:
        while True:
            try:
                if self.backend == "redis":
                    await self._listen_redis()
                else:
                    await self._listen_postgresql()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning(
                    "live %s listener lost; streams poll until it is back", self.backend, exc_info=True
                )
                self.failed_at = asyncio.get_running_loop().time()
            # Whatever happened while we were deaf, streams re-read the table now.
            self.ready.clear()
            self._wake_everyone()
            await asyncio.sleep(RECONNECT_DELAY)

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            self.ready.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._wake(message["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
            await client.aclose()

    async def _listen_postgresql(self) -> None:
        import psycopg

        params: dict[str, Any] = dict(connections["default"].get_connection_params())
        for option in ("cursor_factory", "context", "prepare_threshold", "server_side_binding"):
            params.pop(option, None)
        listener = await psycopg.AsyncConnection.connect(autocommit=True, **params)
        try:
            await listener.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            async for notification in listener.notifies():
                self._wake(notification.payload)
        finally:
            await listener.close()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, NotificationHub]] = (
    weakref.WeakKeyDictionary()
)


def notification_hub(backend: str) -> NotificationHub:
    per_loop = _hubs.setdefault(asyncio.get_running_loop(), {})
    if backend not in per_loop:
        per_loop[backend] = NotificationHub(backend)
    return per_loop[backend]


class HubWakeup:
    """A stream's share of the process listener: woken when its partner publishes."""

    def __init__(self, hub: NotificationHub, partner_pk: int) -> None:
        self.hub = hub
        self.partner_pk = partner_pk
        self._event: asyncio.Event | None = None

    async def open(self) -> None:
        self._event = self.hub.add(self.partner_pk)
        # Subscribed before the stream's first read, or a publish in between would go unheard.
        await asyncio.wait_for(self.hub.ready.wait(), LISTENER_READY_TIMEOUT)

    async def wait(self, timeout: float) -> None:
        assert self._event is not None
        if not self.hub.ready.is_set():
            timeout = min(timeout, poll_interval())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), max(0.0, timeout))
        self._event.clear()

    async def close(self) -> None:
        if self._event is not None:
            event, self._event = self._event, None
            await self.hub.remove(self.partner_pk, event)


async def open_wakeup(*, partner_pk: int, backend: str | None = None) -> Wakeup:
    """The best wake-up available; a listener that cannot start degrades this stream to polling."""
    backend = backend or wakeup_backend()
    if backend not in ("redis", "postgresql"):
        return PollWakeup()
    hub = notification_hub(backend)
    recently_failed = hub.failed_at is not None and asyncio.get_running_loop().time() - hub.failed_at < 10
    if recently_failed and not hub.ready.is_set():
        # Do not make every new page wait for a listener that is known to be down.
        return PollWakeup()
    wakeup = HubWakeup(hub, partner_pk)
    try:
        await wakeup.open()
    except asyncio.CancelledError:
        await wakeup.close()  # the page closed while the listener started: leave the hub
        raise
    except Exception:
        logger.warning("live stream falls back to polling: %s listener unavailable", backend, exc_info=True)
        await wakeup.close()
        return PollWakeup()
    return wakeup
