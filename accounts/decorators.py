"""View decorators: every view of partner data is behind `partner_required`; the partner
administration pages behind `partner_admin_page` too."""

from __future__ import annotations

import functools
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse

from accounts.roles import PARTNER_ADMIN, role_required
from accounts.scopes import has_scope

if TYPE_CHECKING:
    from accounts.http import PortalRequest

# Sync or async: an async view returns a coroutine, so the return type is left open here.
View = Callable[..., Any]


def _no_partner(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "accounts/no_partner.html", status=403).render()


def _partner_of(user: Any) -> Any:
    return user.partner if user.is_authenticated and user.partner_id else None


def partner_required(view: View) -> View:
    """Sign-in required and the user belongs to a partner; sets `request.partner`.

    Views then scope every query by it: `organisation_object_or_404(Model, "noun", partner=request.partner, ...)`,
    so another partner's object is a 404.
    """
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = await request.auser()
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            partner = await sync_to_async(_partner_of)(user)
            if partner is None:
                return await sync_to_async(_no_partner)(request)
            portal_request = cast("PortalRequest", request)
            portal_request.partner = partner
            response: HttpResponse = await view(portal_request, *args, **kwargs)
            return response

        return async_wrapper

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        partner = _partner_of(request.user)
        if partner is None:
            return _no_partner(request)
        portal_request = cast("PortalRequest", request)
        portal_request.partner = partner
        response: HttpResponse = view(portal_request, *args, **kwargs)
        return response

    return wrapper


def partner_admin_page(view: View) -> View:
    """Signed in, of a partner, role admin: the guard of the partner administration pages
    (integrations, webhook subscriptions, the received-webhooks log)."""
    return partner_required(role_required(PARTNER_ADMIN)(view))


def needs_partner_admin_scope(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Without the `partner:admin` scope, show the grant link instead of calling NovaCron."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_scope(request.user, PARTNER_ADMIN):
            return render(request, "accounts/grant_needed.html", {"scope": PARTNER_ADMIN}, status=403)
        return view(request, *args, **kwargs)

    return wrapper
