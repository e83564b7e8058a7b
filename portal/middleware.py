"""The request id: one per request, in every log line written while serving it and on the response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from lib.logs import request_id, request_id_from

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Takes a sane incoming `X-Request-ID` (a proxy's, or a caller's), else makes one.

    First in MIDDLEWARE, so the other middleware's log lines carry it too. The id stays set after
    the middleware returns, because lines written later still belong to the request: Django's
    "Not Found: ..." line, uvicorn's access line, everything a streamed response (the live stream)
    logs. asgiref carries the value out of the worker thread when this runs in sync mode, which it
    does under uvicorn too while a sync-only middleware (WhiteNoise) sits inside it. It is cleared
    when the response is closed (`request_finished`), the last thing a server does with a request.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._serve_async(request)
        current = request_id_from(request.headers.get(HEADER))
        request_id.set(current)
        response: HttpResponse = self.get_response(request)
        response[HEADER] = current
        return response

    async def _serve_async(self, request: HttpRequest) -> HttpResponse:
        current = request_id_from(request.headers.get(HEADER))
        request_id.set(current)
        response: HttpResponse = await self.get_response(request)
        response[HEADER] = current
        return response


@receiver(request_finished)
def _forget_request_id(**kwargs: Any) -> None:
    # A WSGI thread serves request after request, and a caller of async_to_sync gets the context
    # back: neither should keep writing the finished request's id.
    request_id.set(None)
