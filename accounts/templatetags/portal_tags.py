"""`{% load portal_tags %}`: scope checks and step-up consent links for templates."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django_htmx.middleware import HtmxDetails

from accounts import scopes

register = template.Library()


def grant_url(scope: str, next_path: str) -> str:
    return reverse("accounts:grant") + "?" + urlencode({"scope": scope, "next": next_path})


@register.simple_tag(takes_context=True)
def grant_link(context: dict[str, Any], scope: str, label: str = "", css: str = "") -> str:
    """A link that runs NovaCron's consent for `scope` and comes back to the current page.

    Its label names the scope ("Grant vm:write"): two grant links side by side (the account page, a
    VM's page) would otherwise read as the same button twice.
    """
    request: HttpRequest | None = context.get("request")
    next_path = request.get_full_path() if request is not None else "/"
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    if htmx and htmx.current_url_abs_path:
        # An htmx fragment should send the person back to the page it sits on, not the fragment URL.
        next_path = htmx.current_url_abs_path
    return format_html(
        '<a class="{}" href="{}" data-grant-scope="{}">{}</a>',
        css or "btn btn-sm btn-outline-primary",
        grant_url(scope, next_path),
        scope,
        label or f"Grant {scope}",
    )


@register.filter(name="has_scope")
def has_scope_filter(user: Any, scope: str) -> bool:
    """`{% if user|has_scope:"vm:write" %}`."""
    return scopes.has_scope(user, scope)


@register.simple_tag
def scope_description(scope: str) -> str:
    return scopes.scope_description(scope)
