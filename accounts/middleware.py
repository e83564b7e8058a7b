from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject


class NovaCronClientMiddleware:
    """Gives `request.novacron`: an SDK client acting as the signed-in user (built on first use)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from accounts.services import user_client

        request.novacron = SimpleLazyObject(lambda: user_client(user=request.user))  # type: ignore[attr-defined]
        return self.get_response(request)
