"""Per-request NovaCron client, and what the person sees when a NovaCron call goes wrong."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from inspect import iscoroutinefunction
from typing import cast

from asgiref.sync import markcoroutinefunction
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails
from novacron import errors

from accounts.services import SessionExpired
from audit import sessions
from lib.times import zone_of
from partners import reachability

logger = logging.getLogger(__name__)


class _EitherModeMiddleware:
    """Runs in the mode of the handler it wraps, so async views (the live stream) stay async."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        self.prepare(request)
        # In async mode this hands back the coroutine for the handler to await.
        return self.get_response(request)

    def prepare(self, request: HttpRequest) -> None:
        pass


class NovaCronClientMiddleware(_EitherModeMiddleware):
    """Gives `request.novacron`: an SDK client acting as the signed-in user (built on first use)."""

    def prepare(self, request: HttpRequest) -> None:
        from accounts.services import user_client

        # Where the attribute is born: HttpRequest has none, accounts.http declares it for the views.
        request.novacron = SimpleLazyObject(lambda: user_client(user=request.user))  # type: ignore[attr-defined]


LIVE_STREAM_PATH = "/live/stream/"


class TimeZoneMiddleware(_EitherModeMiddleware):
    """Activates the signed-in person's zone, so every page, table and notification is rendered in it
    (lib/times.py); UTC for everyone else.

    Under ASGI every request passes here in async mode (the chain is async for the live stream's
    sake); the zone, a context variable, reaches the sync view's thread. Fragments pushed live are
    rendered in UTC for many viewers at once and rewritten in the page's zone by the page itself.
    """

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        timezone.activate(_zone_of_user(request.user))
        try:
            return self.get_response(request)
        finally:
            # The thread serves other requests next (and tests render outside any): leave UTC behind.
            timezone.deactivate()

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(LIVE_STREAM_PATH):
            # The stream renders no time (its fragments are drawn in UTC), and reading the person here
            # would take a database connection for an open page that must hold none (live/streams.py).
            return await cast("Awaitable[HttpResponse]", self.get_response(request))
        timezone.activate(_zone_of_user(await request.auser()))
        try:
            return await cast("Awaitable[HttpResponse]", self.get_response(request))
        finally:
            timezone.deactivate()


def _zone_of_user(user: object) -> tzinfo:
    name = getattr(user, "time_zone", "") if getattr(user, "is_authenticated", False) else ""
    return zone_of(name)


def _current_page(request: HttpRequest) -> str:
    """The page the person is looking at: for htmx calls, the page that made them."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    if htmx and htmx.current_url_abs_path:
        return htmx.current_url_abs_path
    return request.get_full_path()


def _page_before(request: HttpRequest) -> str:
    """Where to send someone back after a failed action: the referring page of this site, or home."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    candidate = (htmx.current_url_abs_path if htmx else None) or request.headers.get("Referer", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _redirect(request: HttpRequest, to: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        # An htmx request would swap the redirected page into a fragment; make the browser go there.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = to
        return response
    return HttpResponseRedirect(to)


class NovaCronErrorMiddleware(_EitherModeMiddleware):
    """Turns NovaCron errors that escape a view into a way forward instead of a 500.

    Missing scope: back to the page with a "grant access" link. Token rejected or expired: sign out
    and sign in again. NovaCron unreachable or failing: a 503 page saying so.
    Views that can show cached data catch `novacron.errors.NovaCronError` themselves.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, errors.InsufficientScopeError):
            return self._insufficient_scope(request, exception)
        if isinstance(exception, SessionExpired | errors.UnauthorizedError):
            return self._sign_in_again(request)
        if isinstance(exception, errors.ForbiddenError):
            return self._page(request, "accounts/forbidden.html", 403, error=exception)
        if isinstance(exception, errors.NotFoundError):
            raise Http404("NovaCron has no such object for your partner") from exception
        if isinstance(exception, errors.RateLimitError):
            return self._page(request, "accounts/unavailable.html", 429, error=exception, rate_limited=True)
        if reachability.is_outage(exception):
            logger.warning("NovaCron unavailable during %s %s: %s", request.method, request.path, exception)
            partner = getattr(request, "partner", None)
            if partner is not None:
                reachability.novacron_unreachable(partner_pk=partner.pk)
            return self._page(request, "accounts/unavailable.html", 503, error=exception)
        return None

    def _insufficient_scope(self, request: HttpRequest, error: errors.InsufficientScopeError) -> HttpResponse:
        from accounts.templatetags.portal_tags import grant_url

        scope = error.scope or "vm:write"
        if request.method in ("GET", "HEAD") and not getattr(request, "htmx", False):
            # Redirecting a page view back to itself would loop: explain here instead.
            return self._page(
                request,
                "accounts/insufficient_scope.html",
                403,
                scope=scope,
                grant_href=grant_url(scope, _current_page(request)),
            )
        back = _page_before(request)
        messages.warning(
            request,
            format_html(
                "This needs the NovaCron permission “{}”, which you have not granted yet. "
                '<a class="alert-link" href="{}">Grant access</a>',
                scope,
                grant_url(scope, back),
            ),
        )
        return _redirect(request, back)

    def _sign_in_again(self, request: HttpRequest) -> HttpResponse:
        next_path = _current_page(request) if request.method == "GET" else _page_before(request)
        if request.user.is_authenticated:
            sessions.signed_out(request, request.user, method="novacron", reason="NovaCron session ended")
        logout(request)
        messages.info(request, "Your NovaCron session has ended. Please sign in again.")
        if getattr(request, "htmx", False):
            return _redirect(request, redirect_to_login(next_path).url)
        return redirect_to_login(next_path)

    @staticmethod
    def _page(request: HttpRequest, template: str, status: int, **context: object) -> HttpResponse:
        response = TemplateResponse(request, template, context, status=status)
        return response.render()
