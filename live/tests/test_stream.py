from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from live.models import Event
from live.services import events_prune, publish
from live.streams import format_event

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10.0  # generous: only reached when the behaviour under test is broken


@pytest.fixture(autouse=True)
def _fast_polls(settings: Any) -> None:
    settings.LIVE_POLL_INTERVAL = 0.05
    settings.LIVE_SAFETY_POLL_SECONDS = 0.05
    settings.REDIS_URL = ""


def _publish(partner: Any, html: str, topic: str = "migration") -> Event:
    return publish(partner=partner, topic=topic, html=html)


async def _open(user: Any, **headers: str) -> Any:
    client = AsyncClient()
    await client.aforce_login(user)
    return await client.get("/live/stream/", headers=headers)


async def _read_events(stream: AsyncIterator[bytes], count: int) -> list[dict[str, Any]]:
    """Parse SSE messages off the stream until `count` events (comments are skipped)."""
    events: list[dict[str, Any]] = []
    buffer = ""
    while len(events) < count:
        chunk = await asyncio.wait_for(anext(stream), WAIT)
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields: dict[str, Any] = {"data": []}
            for line in block.split("\n"):
                name, _, value = line.partition(": ")
                if name == "data":
                    fields["data"].append(value)
                elif name in ("id", "event"):
                    fields[name] = value
            if "id" in fields:
                events.append(
                    {"id": int(fields["id"]), "event": fields["event"], "data": "\n".join(fields["data"])}
                )
    return events


def test_a_message_has_an_id_a_topic_and_one_data_line_per_html_line():
    event = Event(pk=7, topic="migration", html='<div id="a">\n  <p>x</p>\n</div>')
    assert (
        format_event(event)
        == 'id: 7\nevent: migration\ndata: <div id="a">\ndata:   <p>x</p>\ndata: </div>\n\n'
    )


def test_it_refuses_an_anonymous_viewer():
    response = async_to_sync(AsyncClient().get)("/live/stream/")
    assert response.status_code == 401


def test_under_wsgi_it_answers_503_at_once_so_pages_poll_instead(client, owner):
    """`manage.py runserver` is WSGI (as is Django's test client): an endless stream would hang."""
    client.force_login(owner)
    response = client.get("/live/stream/")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert not response.streaming


def test_a_fresh_connection_sends_only_what_is_published_after_it(owner, partner):
    _publish(partner, '<div id="old">old</div>')

    async def scenario() -> list[dict[str, Any]]:
        response = await _open(owner)
        assert response["Content-Type"] == "text/event-stream"
        stream = aiter(response.streaming_content)
        await asyncio.wait_for(anext(stream), WAIT)  # the opening comment: the stream is live
        new = await sync_to_async(_publish)(partner, '<div id="new">new</div>')
        events = await _read_events(stream, 1)
        await stream.aclose()
        assert events[0]["id"] == new.pk
        return events

    events = async_to_sync(scenario)()
    assert events[0]["data"] == '<div id="new">new</div>'


def test_a_reconnecting_page_receives_exactly_the_events_it_missed_in_order(owner, partner):
    seen = _publish(partner, '<div id="m">1</div>')
    missed = [_publish(partner, f'<div id="m">{n}</div>') for n in range(2, 6)]

    async def scenario() -> list[dict[str, Any]]:
        response = await _open(owner, **{"Last-Event-ID": str(seen.pk)})
        stream = aiter(response.streaming_content)
        events = await _read_events(stream, len(missed))
        later = await sync_to_async(_publish)(partner, '<div id="m">6</div>')
        events += await _read_events(stream, 1)
        await stream.aclose()
        assert events[-1]["id"] == later.pk
        return events

    events = async_to_sync(scenario)()
    assert [e["id"] for e in events[:-1]] == [e.pk for e in missed]
    assert [e["data"] for e in events] == [f'<div id="m">{n}</div>' for n in range(2, 7)]


def test_the_resume_point_may_come_as_a_query_parameter(owner, partner):
    first = _publish(partner, "<p id='a'>a</p>")
    second = _publish(partner, "<p id='b'>b</p>")

    async def scenario() -> list[dict[str, Any]]:
        client = AsyncClient()
        await client.aforce_login(owner)
        response = await client.get("/live/stream/", {"last_event_id": str(first.pk)})
        stream = aiter(response.streaming_content)
        events = await _read_events(stream, 1)
        await stream.aclose()
        return events

    assert [e["id"] for e in async_to_sync(scenario)()] == [second.pk]


def test_a_partner_never_receives_another_partners_events(owner, outsider, partner, other_partner):
    async def scenario() -> list[dict[str, Any]]:
        response = await _open(outsider, **{"Last-Event-ID": "0"})
        stream = aiter(response.streaming_content)
        await sync_to_async(_publish)(partner, '<div id="acme">acme secret</div>')
        mine = await sync_to_async(_publish)(other_partner, '<div id="globex">globex</div>')
        events = await _read_events(stream, 1)
        await stream.aclose()
        assert events[0]["id"] == mine.pk
        return events

    events = async_to_sync(scenario)()
    assert all("acme" not in e["data"] for e in events)


def test_an_idle_stream_sends_keep_alive_comments(owner, settings):
    settings.LIVE_KEEPALIVE_SECONDS = 0.1

    async def scenario() -> list[str]:
        response = await _open(owner)
        stream = aiter(response.streaming_content)
        chunks = [await asyncio.wait_for(anext(stream), WAIT) for _ in range(3)]
        await stream.aclose()
        return [c.decode() if isinstance(c, bytes) else c for c in chunks]

    chunks = async_to_sync(scenario)()
    assert chunks[1] == ": keep-alive\n\n"


def test_a_viewer_without_a_partner_is_refused(db):
    from accounts.models import User

    staff = User.objects.create_user(username="ops@novacron.example", email="ops@novacron.example")

    async def scenario() -> int:
        response = await _open(staff)
        return response.status_code

    assert async_to_sync(scenario)() == 403


def test_old_events_are_pruned_and_recent_ones_kept(partner):
    from datetime import timedelta

    from django.utils import timezone

    old = _publish(partner, "<p id='x'>old</p>")
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    recent = _publish(partner, "<p id='x'>new</p>")
    assert events_prune(older_than=timedelta(hours=1)) == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.pk]
