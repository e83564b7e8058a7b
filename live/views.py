from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.http import require_GET

from live.audiences import viewer_audiences
from live.selectors import in_reader_thread, latest_event_id, release_connection
from live.streams import event_stream


def _resume_point(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _viewer(request: HttpRequest, after_id: int | None) -> tuple[Any, frozenset[str], int]:
    """The signed-in user, the audiences it may see and where its stream starts; in a reader thread."""
    try:
        user = request.user
        if not user.is_authenticated or user.partner_id is None:
            return user, frozenset(), 0
        if after_id is None:
            # A fresh page shows current state already: send only what happens from now on.
            after_id = latest_event_id(partner_pk=user.partner_id)
        return user, viewer_audiences(user), after_id
    finally:
        release_connection()  # the session and user reads are done


def _current_audiences(user_pk: int, partner_pk: int) -> frozenset[str]:
    """The audiences of the stream's viewer as they are now; none once it left the partner or was disabled."""
    from django.contrib.auth import get_user_model

    try:
        user = (
            get_user_model().objects.select_related("oauth_token").filter(pk=user_pk, is_active=True).first()
        )
        if user is None or user.partner_id != partner_pk:
            return frozenset()
        return viewer_audiences(user)
    finally:
        release_connection()


@require_GET
async def stream(request: HttpRequest) -> HttpResponseBase:
    """The viewer's partner's live events as SSE, resuming after Last-Event-ID.

    Async under ASGI: an open stream holds no worker thread while it waits; its partner's feed reads
    for it (live/feeds.py). Authorization is checked here (not with the sync decorator) so the whole
    view stays async; another partner's events are never selected because the partner comes from the
    signed-in user only, and of the partner's events only those of the viewer's audiences are sent.
    The audiences are read again every few seconds (`live.streams.AUDIENCE_RECHECK_SECONDS`), so a
    changed role, a granted scope or a disabled account reaches an open stream without a reconnect.
    """
    if not isinstance(request, ASGIRequest):
        # Under WSGI (`manage.py runserver`) Django buffers an async stream to its end, so an endless
        # stream would hang the page's request forever: refuse at once, and the page polls instead.
        response: HttpResponseBase = HttpResponse(
            "The live stream needs an ASGI server (uvicorn); pages poll instead.",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "30"
        return response
    user, audiences, after_id = await in_reader_thread(_viewer, request, _resume_point(request))
    if not user.is_authenticated:
        return HttpResponse("Sign in first.", status=401, content_type="text/plain")
    if user.partner_id is None:
        return HttpResponse(
            "Your account is not attached to a partner.", status=403, content_type="text/plain"
        )
    user_pk, partner_pk = user.pk, user.partner_id

    async def recheck() -> frozenset[str]:
        audiences: frozenset[str] = await in_reader_thread(_current_audiences, user_pk, partner_pk)
        return audiences

    response = StreamingHttpResponse(
        event_stream(partner_pk=partner_pk, after_id=after_id, audiences=audiences, recheck=recheck),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    # Tell nginx-like proxies not to buffer the stream.
    response["X-Accel-Buffering"] = "no"
    return response
