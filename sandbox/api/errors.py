"""The contract's error envelope: `{"error": {code, message, details}, "request_id"}` on every non-2xx."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse


class ApiError(Exception):
    """An error the API answers with; services raise it and one handler renders it."""

    status = 400
    code = "validation_error"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class ValidationFailed(ApiError):
    status, code = 400, "validation_error"

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", details={"fields": {field: [message]}})


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class InsufficientScope(ApiError):
    status, code = 403, "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"This token lacks the scope {scope}.",
            details={"scope": scope},
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )


class QuotaExceeded(ApiError):
    status, code = 403, "quota_exceeded"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


def request_id_of(request: HttpRequest) -> str:
    return getattr(request, "request_id", "") or ""


def error_response(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = {
        "error": {"code": code, "message": message, "details": details or {}},
        "request_id": request_id_of(request),
    }
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def render_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(
        request,
        status=exc.status,
        code=exc.code,
        message=exc.message,
        details=exc.details,
        headers=exc.headers,
    )
