"""Built into every template (settings TEMPLATES builtins): the portal's one way of showing an instant.

`{{ value|instant }}` is a `<time datetime="…Z">` reading "2 Dec 2026, 14:05 UTC+01:00" in the
viewer's zone, `{{ value|instant:"seconds" }}` adds the seconds, `{{ value|instant_text }}` is the
text alone (for attributes), `{% current_time_zone %}` names the zone a page is rendered in.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from lib.times import instant_html
from lib.times import instant_text as _instant_text

register = template.Library()


@register.filter
def instant(value: datetime | None, precision: str = "") -> SafeString:
    return instant_html(value, seconds=precision == "seconds")


@register.filter
def instant_text(value: datetime | None, precision: str = "") -> str:
    return "" if value is None else _instant_text(value, seconds=precision == "seconds")


@register.simple_tag
def current_time_zone() -> str:
    return timezone.get_current_timezone_name()
