"""The exceptions whose message the portal's error pages may show, and the 404 of partner data.

A 404 or 403 raised anywhere (Django, the admin, a library) may carry a message meant for developers
("No VM matches the given query."), so the pages (portal/errors.py) show a message only when it comes
from one of these, written for the person reading it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404


class NotInYourOrganisation(Http404):
    """Another partner's object, or one that no longer exists: the 404 page shows the message."""


class NotAllowed(PermissionDenied):
    """A refusal whose message says why: the 403 page shows it."""


def organisation_object_or_404[M: Model](queryset: type[M] | QuerySet[M], noun: str, **lookup: Any) -> M:
    """`get_object_or_404` for partner data, with a 404 page that says what happened.

    The same answer whether the object is gone or belongs to another partner, so it reveals nothing.
    """
    try:
        return get_object_or_404(queryset, **lookup)
    except Http404 as exc:
        raise NotInYourOrganisation(f"This {noun} isn't in your organisation") from exc
