"""`{% load live_controls %}`: which controls a fragment draws, for the page's viewer or a published variant."""

from __future__ import annotations

from typing import Any

from django import template

from live.audiences import usable_controls as viewer_controls

register = template.Library()


@register.simple_tag(takes_context=True)
def usable_controls(context: template.Context) -> frozenset[str]:
    """`{% usable_controls as controls %}`: the actions whose controls to draw.

    A published fragment is rendered once per variant with `controls` in its context
    (`live.services.publish_with_controls`); a page draws the controls of the person viewing it.
    Without either (no user) it draws none.
    """
    published: Any = context.get("controls")
    if published is not None:
        return frozenset(published)
    return viewer_controls(context.get("user"))
