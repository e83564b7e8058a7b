"""Error pages in the portal's layout, and the exceptions whose message those pages may show.

A 404 or 403 raised anywhere (Django, the admin, a library) may carry a message meant for developers
("No VM matches the given query."), so the pages show a message only when it comes from one of the
exceptions below, written for the person reading it. Everything else gets the generic wording.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.shortcuts import get_object_or_404
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme


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


def _message_of(exception: Exception | None, ours: type[Exception]) -> str:
    return str(exception) if isinstance(exception, ours) else ""


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Rendered without the request, as Django's own is: a 400 means the request itself is bad (a
    # disallowed Host header, a tampered session), and the full layout would read it again.
    return HttpResponseBadRequest(loader.get_template("errors/400.html").render())


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    context = {"message": _message_of(exception, NotAllowed)}
    return HttpResponseForbidden(loader.get_template("errors/403.html").render(context, request))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    context = {"message": _message_of(exception, NotInYourOrganisation)}
    return HttpResponseNotFound(loader.get_template("errors/404.html").render(context, request))


def server_error(request: HttpRequest) -> HttpResponse:
    # No request, so no context processor runs: the page renders when the database (sessions, the
    # user, notifications) is what failed. Only plain values from the request itself go in.
    path = request.get_full_path()
    # Offered again only when repeating it is harmless, and never as a link to another site ("//host").
    retry = request.method == "GET" and url_has_allowed_host_and_scheme(path, allowed_hosts=None)
    context = {"retry_path": path if retry else ""}
    return HttpResponseServerError(loader.get_template("errors/500.html").render(context))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The CSRF_FAILURE_VIEW: a form older than the session, or a browser that blocks cookies."""
    referer = request.headers.get("Referer", "")
    # Back to the form the person sent, so reloading it gives them a fresh token.
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure())
    context = {"back": referer if same_site else "/"}
    return HttpResponseForbidden(loader.get_template("errors/csrf_failure.html").render(context, request))
