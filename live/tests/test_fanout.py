"""One reader per partner: an event is read once for all the partner's open pages, each viewer gets
only the events its role may see, and nothing is left running once the pages close."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from accounts.roles import PARTNER_ADMIN
from live import feeds
from live.models import Event
from live.services import publish
from live.tests.test_stream import WAIT, _open, _read_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_polls(settings: Any) -> None:
    settings.LIVE_POLL_INTERVAL = 0.05
    settings.LIVE_SAFETY_POLL_SECONDS = 0.05
    settings.REDIS_URL = ""


@pytest.fixture
def outbox_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The ids each read of the outbox returned, for every stream and feed of the test."""
    reads: list[list[int]] = []
    real = feeds.aevents_after

    async def counted(**kwargs: Any) -> list[Event]:
        events = await real(**kwargs)
        reads.append([event.pk for event in events])
        return events

    monkeypatch.setattr(feeds, "aevents_after", counted)
    return reads


async def _opened(user: Any, **headers: str) -> Any:
    response = await _open(user, **headers)
    assert response.status_code == 200
    stream = aiter(response.streaming_content)
    await asyncio.wait_for(anext(stream), WAIT)  # ": connected": joined the feed
    return stream


def test_one_event_reaches_fifty_open_streams_with_one_outbox_read(owner, partner, outbox_reads, settings):
    settings.LIVE_POLL_INTERVAL = settings.LIVE_SAFETY_POLL_SECONDS = 0.2  # a few polls while 50 pages open

    async def scenario() -> list[list[dict[str, Any]]]:
        streams = [await _opened(owner) for _ in range(50)]
        await asyncio.sleep(0.2)  # every stream waits now
        outbox_reads.clear()
        event = await sync_to_async(publish)(
            partner=partner, topic="vm", html="<p id='vm-status-1'>running</p>"
        )
        received = await asyncio.gather(*(_read_events(stream, 1) for stream in streams))
        for stream in streams:
            await stream.aclose()
        assert [r[0]["id"] for r in received] == [event.pk] * 50
        return received

    async_to_sync(scenario)()
    reads_of_the_event = [ids for ids in outbox_reads if ids]
    assert len(reads_of_the_event) == 1
    # Waiting costs one poll per partner, not one per page: 50 pages would read at least 50 times.
    assert len(outbox_reads) < 50


def test_a_viewer_does_not_receive_an_admins_only_event_while_an_admin_does(owner, viewer, partner):
    async def scenario() -> tuple[list[int], list[int], list[int], list[int], list[int]]:
        admin_stream, viewer_stream = await _opened(owner), await _opened(viewer)
        everyone = await sync_to_async(publish)(partner=partner, topic="vm", html="<p id='a'>a</p>")
        admins = await sync_to_async(publish)(
            partner=partner, topic="webhook-log", html="<p id='log'>log</p>", audience=PARTNER_ADMIN
        )
        last = await sync_to_async(publish)(partner=partner, topic="vm", html="<p id='a'>b</p>")
        admin_ids = [e["id"] for e in await _read_events(admin_stream, 3)]
        viewer_ids = [e["id"] for e in await _read_events(viewer_stream, 2)]
        for stream in (admin_stream, viewer_stream):
            await stream.aclose()
        # Both resume after the first event: the admin gets the log rows again, the viewer never.
        resumed_admin = await _opened(owner, **{"Last-Event-ID": str(everyone.pk)})
        resumed_viewer = await _opened(viewer, **{"Last-Event-ID": str(everyone.pk)})
        admin_again = [e["id"] for e in await _read_events(resumed_admin, 2)]
        viewer_again = [e["id"] for e in await _read_events(resumed_viewer, 1)]
        for stream in (resumed_admin, resumed_viewer):
            await stream.aclose()
        return [everyone.pk, admins.pk, last.pk], admin_ids, viewer_ids, admin_again, viewer_again

    (everyone, admins, last), admin_ids, viewer_ids, admin_again, viewer_again = async_to_sync(scenario)()
    assert admin_ids == [everyone, admins, last]
    assert viewer_ids == [everyone, last]
    assert admin_again == [admins, last]
    assert viewer_again == [last]


def test_a_page_resuming_behind_the_feed_gets_every_event_once_in_order(owner, partner):
    first = publish(partner=partner, topic="vm", html="<p id='a'>0</p>")

    async def scenario() -> tuple[list[int], list[int]]:
        live_page = await _opened(owner)  # the feed is ahead of the page that comes back below
        published = [
            await sync_to_async(publish)(partner=partner, topic="vm", html=f"<p id='a'>{n}</p>")
            for n in range(1, 4)
        ]
        await _read_events(live_page, 3)
        returning = await _opened(owner, **{"Last-Event-ID": str(first.pk)})
        # Events published while it catches up come through the feed, after the ones it reads itself.
        published += [
            await sync_to_async(publish)(partner=partner, topic="vm", html=f"<p id='a'>{n}</p>")
            for n in range(4, 7)
        ]
        received = [e["id"] for e in await _read_events(returning, 6)]
        extra = await _read_events_or_none(returning)
        for stream in (live_page, returning):
            await stream.aclose()
        assert extra is None, f"an extra event after the last one: {extra}"
        return [event.pk for event in published], received

    published, received = async_to_sync(scenario)()
    assert received == published


async def _read_events_or_none(stream: Any) -> Any:
    try:
        return await asyncio.wait_for(_read_events(stream, 1), 0.5)
    except TimeoutError:
        return None


def test_a_page_that_falls_far_behind_reads_the_gap_itself_and_loses_nothing(owner, partner, monkeypatch):
    monkeypatch.setattr(feeds, "MAX_PENDING", 5)

    async def scenario() -> tuple[list[int], list[int]]:
        stream = await _opened(owner)
        # Published faster than the page reads: its buffer overflows, so it reads the outbox itself.
        published = [
            await sync_to_async(publish)(partner=partner, topic="vm", html=f"<p id='a'>{n}</p>")
            for n in range(20)
        ]
        await asyncio.sleep(0.3)
        received = [e["id"] for e in await _read_events(stream, 20)]
        await stream.aclose()
        return [event.pk for event in published], received

    published, received = async_to_sync(scenario)()
    assert received == published


def test_after_the_last_page_of_a_partner_closes_its_reader_is_gone(owner, partner):
    async def page(opened: asyncio.Event) -> None:
        stream = await _opened(owner)
        opened.set()
        async for _ in stream:  # until the page closes: the server cancels the response, as here
            pass

    async def scenario() -> tuple[bool, bool, bool]:
        opened = [asyncio.Event() for _ in range(3)]
        pages = [asyncio.create_task(page(event)) for event in opened]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in opened)), WAIT)
        feed = feeds.partner_feed(partner_pk=partner.pk)
        reader = feed._task if feed is not None else None
        running = reader is not None and not reader.done()
        for task in pages[:2]:
            task.cancel()
        await asyncio.gather(*pages[:2], return_exceptions=True)
        still_running = feeds.partner_feed(partner_pk=partner.pk) is feed and not reader.done()
        pages[2].cancel()
        await asyncio.gather(pages[2], return_exceptions=True)
        gone = feeds.partner_feed(partner_pk=partner.pk) is None and reader is not None and reader.done()
        return running, still_running, gone

    running, still_running, gone = async_to_sync(scenario)()
    assert running
    assert still_running
    assert gone
