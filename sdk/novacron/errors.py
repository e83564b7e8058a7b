"""One error family: a base carrying what the server said, one subclass per outcome.

``error_from_response`` is the single place that maps a response to its class, the Python form of
the reference's ``errors.Is(err, partners.ErrNotFound)``: ``except NotFoundError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict


class NovaCronError(Exception):
    """Base of every error the SDK raises.

    An error from a response keeps what the server sent, as stripe-python's ``http_body`` and
    ``json_body`` do: ``body`` is the raw text (None without a response), ``json`` the parsed body
    (None when it was not JSON).
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        body: str | None = None,
        json: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers or {})
        self.details: dict[str, Any] = dict(details or {})
        self.body = body
        self.json = json

    def __str__(self) -> str:
        parts = [f"{self.status}" if self.status else "", self.code or ""]
        prefix = " ".join(p for p in parts if p)
        text = f"[{prefix}] {self.message}" if prefix else self.message
        return f"{text} (request {self.request_id})" if self.request_id else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class ValidationError(NovaCronError):
    """400: the request body or query was rejected; ``fields`` maps a field to its messages."""

    @property
    def fields(self) -> dict[str, list[str]]:
        raw = self.details.get("fields") or {}
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in raw.items()}


class UnauthorizedError(NovaCronError):
    """401: missing or bad credentials, a stale timestamp, an expired or revoked token."""


class ForbiddenError(NovaCronError):
    """403 ``forbidden``: the user's partner role does not allow the action."""


class InsufficientScopeError(NovaCronError):
    """403 ``insufficient_scope``: the bearer token lacks ``scope``."""

    @property
    def scope(self) -> str | None:
        if self.details.get("scope"):
            return str(self.details["scope"])
        match = re.search(r'scope="([^"]*)"', self.headers.get("WWW-Authenticate", ""))
        return match.group(1) if match else None


class QuotaExceededError(NovaCronError):
    """403 ``quota_exceeded``: the partner's ``quota`` is used up (``limit``, ``used``)."""

    @property
    def quota(self) -> str | None:
        return self.details.get("quota")

    @property
    def limit(self) -> int | None:
        return self.details.get("limit")

    @property
    def used(self) -> int | None:
        return self.details.get("used")

    @property
    def requested(self) -> int | None:
        return self.details.get("requested")


class NotFoundError(NovaCronError):
    """404: no such resource for this partner (another partner's ids are 404 too)."""


class ConflictError(NovaCronError):
    """409: the resource's state forbids it, or an Idempotency-Key was reused with another body."""


class PayloadTooLargeError(NovaCronError):
    """413: the body is over the server's limit."""


class RateLimitError(NovaCronError):
    """429: the partner's rate budget is spent; ``retry_after`` is in seconds."""

    @property
    def retry_after(self) -> float:
        header = self.headers.get("Retry-After")
        for candidate in (header, self.details.get("retry_after")):
            try:
                if candidate is not None:
                    return max(float(candidate), 0.0)
            except (TypeError, ValueError):
                continue
        return 1.0


class ServerError(NovaCronError):
    """5xx: the server failed; 502, 503 and 504 are retried before this surfaces."""


class APIConnectionError(NovaCronError):
    """No response: DNS, refused or reset connection, TLS failure."""


class APITimeoutError(APIConnectionError):
    """No response within the configured timeout."""


class DeadlineExceededError(APITimeoutError):
    """The call's total ``deadline`` passed (across its retries) before NovaCron answered.

    Never retried: the time the caller allowed is spent.
    """


class SignatureVerificationError(NovaCronError):
    """A webhook payload whose signature does not match any of the given secrets."""


_BY_CODE: dict[str, type[NovaCronError]] = {
    "validation_error": ValidationError,
    "unauthorized": UnauthorizedError,
    "forbidden": ForbiddenError,
    "insufficient_scope": InsufficientScopeError,
    "quota_exceeded": QuotaExceededError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "payload_too_large": PayloadTooLargeError,
    "rate_limited": RateLimitError,
}

_BY_STATUS: dict[int, type[NovaCronError]] = {
    400: ValidationError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
}


def _error_class(status: int, code: str | None) -> type[NovaCronError]:
    if status >= 500:
        return ServerError
    by_code = _BY_CODE.get(code or "")
    # A code only picks the class when it agrees with the status family; an odd proxy page
    # claiming "not_found" on a 400 is still a 400.
    if by_code is not None and _BY_STATUS.get(status) in (by_code, ForbiddenError):
        return by_code
    return _BY_STATUS.get(status, NovaCronError)


def error_from_response(response: requests.Response) -> NovaCronError:
    """The error a non-2xx response stands for, with the envelope's code, message and details."""
    headers = CaseInsensitiveDict(response.headers)
    try:
        body = response.json()
    except ValueError:
        body = None
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict):
        code = envelope.get("code")
        message = str(envelope.get("message") or response.reason or "request failed")
        details = envelope.get("details") if isinstance(envelope.get("details"), dict) else {}
    else:
        code, details = None, {}
        message = (response.text or response.reason or "request failed")[:500]
    request_id = (body.get("request_id") if isinstance(body, dict) else None) or headers.get("X-Request-ID")
    status = response.status_code
    cls = _error_class(status, code)
    return cls(
        message,
        status=status,
        code=code,
        request_id=request_id,
        headers=headers,
        details=details,
        body=response.text,
        json=body,
    )


class OAuthError(UnauthorizedError):
    """The authorization server refused a grant (``code`` is the OAuth error, e.g. ``invalid_grant``)."""
