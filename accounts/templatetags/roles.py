"""`{% load roles %}` then `{% if user|can:"vm:write" %}`: offer only what the partner role allows."""

from __future__ import annotations

from typing import Any

from django import template

from accounts import roles

register = template.Library()


@register.filter(name="can")
def can(user: Any, action: str) -> bool:
    return roles.can(user, action)
