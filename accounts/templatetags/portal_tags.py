"""`{% load portal_tags %}`: scope checks and step-up consent links for templates."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from django import template
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django_htmx.middleware import HtmxDetails

from accounts import scopes
from lib.forms import IDEMPOTENCY_FIELD, new_idempotency_key

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


@register.simple_tag
def idempotency_key_field(*state: object) -> str:
    """The hidden Idempotency-Key of a one-button form: new each time the form is rendered, or, given
    the `state` it acts on (action, object id, its `updated_at`), the same for that state.

    A fragment pushed live is drawn once per set of controls and must draw the same for each to be
    sent once (live.services.publish_with_controls); a key of the state does, and a click on the
    same state twice is still one request at NovaCron, while a new state gets a new key.
    """
    key = (
        hashlib.sha256("\x1f".join(str(part) for part in state).encode()).hexdigest()[:32]
        if state
        else new_idempotency_key()
    )
    return format_html('<input type="hidden" name="{}" value="{}">', IDEMPOTENCY_FIELD, key)
