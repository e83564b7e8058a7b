"""The admin's password sign-in is locked after repeated failures (django-axes calls these).

Portal users sign in through NovaCron (OAuth) and never reach Django's password check; the admin
login at /admin/ is the one password form, and AXES_ONLY_ADMIN_SITE keeps the counting to it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import loader


def client_ip(request: HttpRequest) -> str | None:
    """The address that failed, as the ASGI server saw it.

    Never X-Forwarded-For as sent: anyone can write that header, so trusting it would give each
    guess a fresh address and no lockout at all. Behind the proxy, uvicorn's --proxy-headers with
    --forwarded-allow-ips (the proxy's address only) has already put the client into REMOTE_ADDR.
    """
    address: str | None = request.META.get("REMOTE_ADDR")
    return address


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The page a locked-out admin sign-in gets: what happened and when to try again."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cool_off_minutes": max(minutes, 1)}
    body = loader.get_template("errors/lockout.html").render(context, request)
    return HttpResponse(body, status=429, headers={"Retry-After": str(max(minutes, 1) * 60)})
