"""Request ids, rate-limit headers, idempotent-response storage and injected faults for the API."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from sandbox.api.errors import error_response
from sandbox.engine import faults

log = logging.getLogger("sandbox.api")

API_PREFIX = "/api/v1/"
# A caller's own id is adopted when it is safe to echo and log, as a gateway in front of NovaCron would.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_GENERIC_ERRORS = {404: "not_found", 405: "validation_error", 413: "payload_too_large", 500: "internal_error"}


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = (  # type: ignore[attr-defined]
            incoming if _SANE_REQUEST_ID.fullmatch(incoming) else f"req_{secrets.token_hex(8)}"
        )
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            response = _with_envelope(request, response)
            rate = getattr(request, "sandbox_rate", None)
            if rate is not None:
                for name, value in rate.headers().items():
                    response.setdefault(name, value)
            _store_idempotent_response(request, response)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


def _with_envelope(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Django's own 404/405/500 pages (unknown paths, wrong methods) become contract errors."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
        return response
    code = _GENERIC_ERRORS.get(
        response.status_code, "internal_error" if response.status_code >= 500 else "not_found"
    )
    replacement = error_response(
        request, status=response.status_code, code=code, message=response.reason_phrase or code
    )
    if "Allow" in response:
        replacement["Allow"] = response["Allow"]
    return replacement


def _store_idempotent_response(request: HttpRequest, response: HttpResponse) -> None:
    pending = getattr(request, "sandbox_idempotency", None)
    if pending is None:
        return
    from sandbox.core.services.idempotency import idempotency_release, idempotency_store

    if response.status_code >= 500 or response.status_code == 429:
        idempotency_release(pending=pending)
    else:
        idempotency_store(pending=pending, status_code=response.status_code, body=response.content.decode())


class FaultInjectionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        config = faults.current()
        if not config:
            return self.get_response(request)
        latency_ms = float(config.get("latency_ms") or 0)
        if latency_ms > 0:
            time.sleep(latency_ms / 1000.0)
        if config.get("rate_limit_storm"):
            return error_response(
                request,
                status=429,
                code="rate_limited",
                message="Rate limit exceeded (injected storm).",
                details={"retry_after": 1},
                headers={"Retry-After": "1"},
            )
        if faults.chance(faults.error_rate_for(request.path, config)):
            log.info("injected 503 on %s", request.path)
            return error_response(request, status=503, code="unavailable", message="Injected fault.")
        return self.get_response(request)


def json_body(request: HttpRequest) -> object:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None
