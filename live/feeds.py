"""One reader per partner per process: each new batch of the outbox is read once, for every open page.

A `PartnerFeed` runs while any stream of its partner is open in this process (per event loop). Its
reader task waits for the partner's wake-up (the process's one Redis or LISTEN listener, or one
poll per partner on SQLite), reads the new rows once, in a reader thread that gives its database
connection back after each read, and hands them to each open stream's `Subscription`. A waiting
stream therefore holds neither a thread nor a connection, and the cost of an event does not grow
with the number of open pages.

A stream that joins behind the feed (it resumes from an older `Last-Event-ID`), or falls so far
behind that its buffer overflows, first reads the gap itself: it keeps buffering what the feed hands
over while it reads, then drops whatever it already sent, so nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import Iterable

from live.models import EVERYONE, Event
from live.selectors import aevents_after
from live.wakeups import LISTENER_READY_TIMEOUT, open_wakeup, poll_interval, safety_poll_interval

logger = logging.getLogger(__name__)

BATCH = 100
# A page that reads slower than its partner publishes: past this many buffered events it stops
# buffering and reads the outbox itself once it catches up, instead of growing without bound.
MAX_PENDING = 1000


class Subscription:
    """One open stream's share of its partner's feed: what the feed read for it and it has not sent."""

    def __init__(self, feed: PartnerFeed, *, position: int, audiences: frozenset[str], behind: bool) -> None:
        self.feed = feed
        # Every event up to this id has been sent, or is not for this viewer.
        self.position = position
        self.audiences = audiences
        # True while events between `position` and the feed's may exist that the feed will not hand over.
        self.behind = behind
        self._pending: deque[Event] = deque()
        self._arrived = asyncio.Event()

    def offer(self, events: Iterable[Event]) -> None:
        """From the feed: a new batch, in id order."""
        if self.behind:
            return  # read from the outbox on catching up
        self._pending.extend(events)
        if len(self._pending) > MAX_PENDING:
            self._pending.clear()
            self.behind = True
        self._arrived.set()

    async def next_events(self) -> list[Event]:
        """The next events to send (possibly none), oldest first, each once, only the viewer's."""
        if self.behind:
            # Buffer what the feed hands over from now on, then read what came before it.
            self.behind = False
            events = await aevents_after(partner_pk=self.feed.partner_pk, after_id=self.position, limit=BATCH)
            self.behind = len(events) == BATCH
            logger.debug(
                "live stream of partner %s: catch-up read (%d events)", self.feed.partner_pk, len(events)
            )
        else:
            events = list(self._pending)
            self._pending.clear()
        fresh = [event for event in events if event.pk > self.position]
        if fresh:
            self.position = fresh[-1].pk
        return [event for event in fresh if event.reaches(self.audiences)]

    async def wait(self, timeout: float) -> None:
        """Until the feed hands over something, or `timeout` seconds."""
        if self.behind or self._pending:
            return
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), max(0.0, timeout))

    async def close(self) -> None:
        await self.feed.leave(self)


class PartnerFeed:
    """The reader of one partner's outbox in this process, shared by all the partner's open streams."""

    def __init__(self, *, partner_pk: int, backend: str | None, position: int) -> None:
        self.partner_pk = partner_pk
        self.backend = backend
        # Every event up to this id has been handed to the subscribers of the time.
        self.position = position
        self.subscribers: set[Subscription] = set()
        self.reads = 0
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(self._run())

    async def join(self, *, position: int, audiences: frozenset[str]) -> Subscription:
        subscription = Subscription(
            self, position=position, audiences=audiences, behind=position < self.position
        )
        self.subscribers.add(subscription)
        try:
            # Like the stream before it: "connected" once a publish from now on is sure to wake us.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listening.wait(), LISTENER_READY_TIMEOUT + 1)
        except asyncio.CancelledError:
            await self.leave(subscription)  # the page closed while the listener started
            raise
        return subscription

    async def leave(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)
        if self.subscribers:
            return
        # The last page closed: forget the feed at once (a new page starts a new one), stop reading.
        feeds = _feeds.get(asyncio.get_running_loop(), {})
        if feeds.get((self.partner_pk, self.backend)) is self:
            del feeds[(self.partner_pk, self.backend)]
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        wakeup = await open_wakeup(partner_pk=self.partner_pk, backend=self.backend)
        self.listening.set()
        try:
            while True:
                try:
                    events = await aevents_after(
                        partner_pk=self.partner_pk, after_id=self.position, limit=BATCH
                    )
                except Exception:  # the database is away: the pages wait, and we try again
                    logger.warning(
                        "live feed of partner %s could not read the outbox", self.partner_pk, exc_info=True
                    )
                    await asyncio.sleep(poll_interval())
                    continue
                self.reads += 1
                logger.debug(
                    "live feed of partner %s: read %s (%d events, %d streams)",
                    self.partner_pk,
                    self.reads,
                    len(events),
                    len(self.subscribers),
                )
                if events:
                    self.position = events[-1].pk
                    for subscription in self.subscribers:
                        subscription.offer(events)
                    if len(events) == BATCH:
                        continue
                await wakeup.wait(safety_poll_interval())
        finally:
            await wakeup.close()


_feeds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, str | None], PartnerFeed]] = (
    weakref.WeakKeyDictionary()
)


def partner_feed(*, partner_pk: int, backend: str | None = None) -> PartnerFeed | None:
    """The partner's running feed in this event loop, if any page of it is open."""
    return _feeds.get(asyncio.get_running_loop(), {}).get((partner_pk, backend))


async def subscribe(
    *,
    partner_pk: int,
    after_id: int,
    audiences: frozenset[str] = frozenset({EVERYONE}),
    backend: str | None = None,
) -> Subscription:
    """A place in the partner's feed for events after `after_id` (starting the feed for the first page)."""
    feeds = _feeds.setdefault(asyncio.get_running_loop(), {})
    feed = feeds.get((partner_pk, backend))
    if feed is None:
        # The first page's resume point is where the feed starts: its first read is that page's catch-up.
        feed = feeds[(partner_pk, backend)] = PartnerFeed(
            partner_pk=partner_pk, backend=backend, position=after_id
        )
    return await feed.join(position=after_id, audiences=audiences)
