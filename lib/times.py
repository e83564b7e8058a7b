"""The portal's one way of showing an instant: "2 Dec 2026, 14:05 UTC+01:00" in the viewer's zone.

Pages render in the zone the request activated (accounts.middleware.TimeZoneMiddleware); every
instant is a `<time datetime="…Z">` carrying the exact UTC instant, so `static/js/time-zone.js` can
write the same text in the page's zone for fragments rendered for many viewers at once (live
pushes are rendered in UTC). The zone is named by its UTC offset rather than an abbreviation:
Python and the browser agree on offsets for every zone, not on abbreviations ("IST", "GMT+5:30").
Month names are spelled here, not taken from the locale, for the same reason.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache, wraps

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# In the IANA database but not a place: the server's own zone and a placeholder.
_NOT_ZONES = frozenset({"localtime", "Factory"})


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone a person may choose, sorted."""
    return tuple(sorted(zoneinfo.available_timezones() - _NOT_ZONES))


def is_time_zone(name: str) -> bool:
    return name in time_zone_names()


def zone_of(name: str) -> tzinfo:
    """The zone called `name`, UTC for an empty or unknown name (a zone dropped from tzdata)."""
    if name and is_time_zone(name):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def offset_label(offset: timedelta | None) -> str:
    """`UTC`, `UTC+05:30`, `UTC-03:00`."""
    minutes = round((offset or timedelta()).total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def instant_text(value: datetime, *, seconds: bool = False, zone: tzinfo | None = None) -> str:
    """`value` as "2 Dec 2026, 14:05 UTC+01:00" in `zone` (by default the active one)."""
    local = timezone.localtime(value, zone) if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {clock} {offset_label(local.utcoffset())}"


def utc_iso(value: datetime) -> str:
    """The exact instant for `<time datetime>`: `2026-12-02T13:05:00Z` (milliseconds when it has them)."""
    instant = value.astimezone(UTC) if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    spec = "milliseconds" if instant.microsecond else "seconds"
    return instant.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def instant_html(value: datetime | None, *, seconds: bool = False, empty: str = "—") -> SafeString:
    """`<time datetime="…Z">2 Dec 2026, 14:05 UTC+01:00</time>`, or `empty` for no instant."""
    if value is None:
        return format_html("{}", empty)
    return format_html(
        '<time datetime="{}"{}>{}</time>',
        utc_iso(value),
        SafeString(' data-seconds=""') if seconds else "",
        instant_text(value, seconds=seconds),
    )


def rendered_in_utc[**P, R](render: Callable[P, R]) -> Callable[P, R]:
    """For what is rendered once for many viewers (live fragments): in UTC, whoever's request
    happened to trigger it, so no viewer is shown (or told) another person's zone; each page writes
    the `<time>` elements in its own zone (static/js/time-zone.js)."""

    @wraps(render)
    def in_utc(*args: P.args, **kwargs: P.kwargs) -> R:
        with timezone.override(UTC):
            return render(*args, **kwargs)

    return in_utc
