from __future__ import annotations

from django.db.models import Max

from live.models import Event


def latest_event_id(*, partner_pk: int) -> int:
    """The newest outbox id of the partner (0 when none): a page rendered now has seen up to here."""
    return Event.objects.filter(partner_id=partner_pk).aggregate(latest=Max("id"))["latest"] or 0


async def alatest_event_id(*, partner_pk: int) -> int:
    result = await Event.objects.filter(partner_id=partner_pk).aaggregate(latest=Max("id"))
    return result["latest"] or 0


async def aevents_after(*, partner_pk: int, after_id: int, limit: int = 100) -> list[Event]:
    """The partner's outbox rows after `after_id`, oldest first: never another partner's."""
    rows = Event.objects.filter(partner_id=partner_pk, id__gt=after_id).order_by("id")[:limit]
    return [event async for event in rows]
