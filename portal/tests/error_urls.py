"""The portal's URLs plus views that fail on purpose, to see each error page as a visitor would."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from lib.http_errors import NotAllowed
from portal import urls as portal_urls


def _raising(exception: Exception) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        raise exception

    return view


urlpatterns = [
    path("fail/400/", _raising(SuspiciousOperation("Invalid HTTP_HOST header"))),
    path("fail/403/", _raising(PermissionDenied("CSRF token from POST incorrect"))),
    path("fail/403-ours/", _raising(NotAllowed("Only a partner admin may rotate this secret."))),
    path("fail/404/", _raising(Http404("No VM matches the given query."))),
    path("fail/500/", _raising(RuntimeError("boom"))),
    *portal_urls.urlpatterns,
]

handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
