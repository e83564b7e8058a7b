"""`{% load layout %}`: the layout's navigation, which marks the section the current page belongs to."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context: dict[str, Any], url_name: str, label: str) -> SafeString:
    """A navigation link, `aria-current="page"` when the page is that section's (the overview only at /)."""
    href = reverse(url_name)
    request = context.get("request")
    path = request.path if request is not None else ""
    current = path == href if href == "/" else path.startswith(href)
    if current:
        return format_html('<a class="nav-link active" aria-current="page" href="{}">{}</a>', href, label)
    return format_html('<a class="nav-link" href="{}">{}</a>', href, label)
