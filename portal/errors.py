"""Error pages in the portal's layout.

A 404 or 403 raised anywhere (Django, the admin, a library) may carry a message meant for developers
("No VM matches the given query."), so the pages show a message only when it comes from one of the
exceptions of lib/http_errors.py, written for the person reading it. Everything else gets the generic
wording.
"""

from __future__ import annotations

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme

from lib.http_errors import NotAllowed, NotInYourOrganisation


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
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    context = {"back": referer if same_site else "/"}
    return HttpResponseForbidden(loader.get_template("errors/csrf_failure.html").render(context, request))
