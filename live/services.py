"""Publishing live updates: write the fragment to the outbox, then wake the streams that serve it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from lib.pruning import delete_in_batches
from live.audiences import CONTROL_VARIANTS, check_audience, controls_audience
from live.models import EVERYONE, Event
from partners.models import Partner

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)


# One channel for every partner (Redis PUBLISH / PostgreSQL NOTIFY); the payload names the partner,
# so each web process needs a single listener however many streams it serves.
CHANNEL = "portal_live"


def notification_payload(*, partner_pk: int, event_id: int) -> str:
    return f"{int(partner_pk)}:{int(event_id)}"


def wakeup_backend() -> str:
    """How publishers wake streams: "redis" when configured, "postgresql" on PostgreSQL, else "poll"."""
    if settings.REDIS_URL:
        return "redis"
    if connection.vendor == "postgresql":
        return "postgresql"
    return "poll"


@cache
def _redis_client(url: str) -> redis.Redis:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _announce(*, partner_pk: int, event_id: int) -> None:
    """Tell waiting streams there is a new row; losing this only delays them to their next safety poll."""
    backend = wakeup_backend()
    try:
        if backend == "redis":
            _redis_client(settings.REDIS_URL).publish(
                CHANNEL, notification_payload(partner_pk=partner_pk, event_id=event_id)
            )
        elif backend == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_notify(%s, %s)",
                    [CHANNEL, notification_payload(partner_pk=partner_pk, event_id=event_id)],
                )
    except Exception:  # a wake-up is an optimisation: the row is committed and streams poll as well
        logger.warning("could not announce live event %s", event_id, exc_info=True)


def publish(*, partner: Partner, topic: str, html: str, audience: str = EVERYONE) -> Event:
    """Add a fragment to the partner's outbox; streams are woken once the row is committed.

    `audience` is who of the partner receives it: everyone (the default), the users whose role
    allows an action of `accounts.roles` (`PARTNER_ADMIN` for the admins' pages), or some variants of
    usable controls (space-separated; `publish_with_controls`). See live/audiences.py.
    """
    check_audience(audience)  # a typo would silently hide the fragment: fail where it is published
    event = Event.objects.create(
        partner=partner, topic=topic, html=html, audience=audience, created_at=timezone.now()
    )
    # Waking a stream before commit would make it look for a row it cannot see yet.
    transaction.on_commit(lambda: _announce(partner_pk=partner.pk, event_id=event.pk))
    return event


def publish_with_controls(
    *, partner: Partner, topic: str, render: Callable[[frozenset[str]], str]
) -> list[Event]:
    """Publish a fragment that carries controls: `render(usable)` draws it with only the controls of
    the actions in `usable`, and each person receives the variant of the controls they may use.

    Variants that draw the same are one event for all their audiences, and a fragment drawn the same
    for everyone (no control applies now) is one event for the whole partner.
    """
    audiences_of: dict[str, list[str]] = {}
    for usable in CONTROL_VARIANTS:
        audiences_of.setdefault(render(usable), []).append(controls_audience(usable))
    if len(audiences_of) == 1:
        return [publish(partner=partner, topic=topic, html=next(iter(audiences_of)))]
    return [
        publish(partner=partner, topic=topic, html=html, audience=" ".join(audiences))
        for html, audiences in audiences_of.items()
    ]


def events_prune(*, older_than: timedelta | None = None) -> int:
    """Delete outbox rows older than the retention: pages that were away longer reload anyway."""
    if older_than is None:
        older_than = timedelta(seconds=settings.LIVE_EVENT_RETENTION_SECONDS)
    # In batches: every open page polls this table, and one long delete would stall them all.
    return delete_in_batches(Event.objects.filter(created_at__lt=timezone.now() - older_than))
