from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.http import require_GET

from live.selectors import alatest_event_id, release_connection
from live.streams import event_stream


def _resume_point(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


@require_GET
async def stream(request: HttpRequest) -> HttpResponseBase:
    """The viewer's partner's live events as SSE, resuming after Last-Event-ID.

    Async under ASGI: an open stream holds no worker thread while it waits. Authorization is checked
    here (not with the sync decorator) so the whole view stays async; another partner's events are
    never selected because the partner comes from the signed-in user only.
    """
    if not isinstance(request, ASGIRequest):
        # Under WSGI (`manage.py runserver`) Django buffers an async stream to its end, so an endless
        # stream would hang the page's request forever: refuse at once, and the page polls instead.
        response: HttpResponseBase = HttpResponse(
            "The live stream needs an ASGI server (uvicorn); pages poll instead.", status=503,
            content_type="text/plain")
        response["Retry-After"] = "30"
        return response
    user = await request.auser()
    await sync_to_async(release_connection)()  # the session and user reads are done
    if not user.is_authenticated:
        return HttpResponse("Sign in first.", status=401, content_type="text/plain")
    partner_pk = user.partner_id
    if partner_pk is None:
        return HttpResponse("Your account is not attached to a partner.", status=403, content_type="text/plain")
    after_id = _resume_point(request)
    if after_id is None:
        # A fresh page shows current state already: send only what happens from now on.
        after_id = await alatest_event_id(partner_pk=partner_pk)
    response = StreamingHttpResponse(
        event_stream(partner_pk=partner_pk, after_id=after_id),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    # Tell nginx-like proxies not to buffer the stream.
    response["X-Accel-Buffering"] = "no"
    return response
