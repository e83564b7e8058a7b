"""One authentication for the Partner API: partner HMAC headers or an OAuth bearer token.

After identifying the partner it spends a rate-limit token, checks the endpoint's scope and the
user's role, and opens the Idempotency-Key bookkeeping for POSTs.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from ninja.security.base import AuthBase

from sandbox.api.errors import Forbidden, InsufficientScope, RateLimited, Unauthorized
from sandbox.core.models import APICredential, Partner
from sandbox.core.services.idempotency import idempotency_begin
from sandbox.core.services.quotas import rate_limits_of
from sandbox.engine.counters import counters
from sandbox.engine.ratelimit import limiter

TIMESTAMP_WINDOW_SECONDS = 300
ALL_SCOPES = frozenset({"vm:read", "vm:write", "migration:execute", "partner:admin"})
ROLE_SCOPES = {
    "viewer": frozenset({"vm:read"}),
    "operator": frozenset({"vm:read", "vm:write", "migration:execute"}),
    "admin": ALL_SCOPES,
}
HMAC_HEADERS = ("X-Partner-ID", "X-API-Key", "X-Timestamp", "X-Signature")
# Callers that never identify a partner still get buckets (per address), at bronze rates.
ANONYMOUS_LIMITS = (100, 150)


@dataclass(frozen=True)
class Principal:
    partner: Partner
    scopes: frozenset[str]
    role: str | None = None
    user: Any = None
    mode: str = "hmac"
    extra: dict[str, Any] = field(default_factory=dict)


def sign(secret: str, method: str, path: str, timestamp: str) -> str:
    message = f"{method.upper()}:{path}:{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def authenticate_hmac(request: HttpRequest) -> Principal:
    values = {name: request.headers.get(name) for name in HMAC_HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise Unauthorized("Missing authentication headers.", details={"missing": missing})
    try:
        timestamp = int(values["X-Timestamp"] or "")
    except ValueError:
        raise Unauthorized("X-Timestamp must be Unix seconds.") from None
    if abs(time.time() - timestamp) > TIMESTAMP_WINDOW_SECONDS:
        raise Unauthorized("X-Timestamp is outside the 300 s window.")
    credential = (
        APICredential.objects.select_related("partner")
        .filter(api_key=values["X-API-Key"], is_active=True)
        .first()
    )
    if credential is None or credential.partner_id != values["X-Partner-ID"]:
        raise Unauthorized("Unknown API key for this partner.")
    # request.path is percent-decoded (UTF-8), under ASGI and WSGI alike: the contract signs that form.
    expected = sign(credential.api_secret, request.method or "GET", request.path, values["X-Timestamp"] or "")
    if not hmac.compare_digest(expected, (values["X-Signature"] or "").lower()):
        raise Unauthorized("Bad signature.")
    return Principal(partner=credential.partner, scopes=ALL_SCOPES)


def authenticate_bearer_token(request: HttpRequest) -> Principal:
    invalid = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    try:
        from sandbox.identity.auth import InvalidToken, authenticate_bearer
    except ImportError:  # the identity app is optional for the API; without it no token is valid
        raise Unauthorized("Bearer tokens are not accepted here.", headers=invalid) from None
    try:
        bearer = authenticate_bearer(request)
    except InvalidToken as exc:
        raise Unauthorized(str(exc) or "Invalid token.", headers=invalid) from None
    if bearer is None:
        raise Unauthorized("Invalid token.", headers=invalid)
    return Principal(
        partner=bearer.partner,
        scopes=frozenset(bearer.scopes),
        role=bearer.role,
        user=bearer.user,
        mode="bearer",
    )


def identify(request: HttpRequest) -> Principal:
    if request.headers.get("Authorization", "").lower().startswith("bearer"):
        return authenticate_bearer_token(request)
    return authenticate_hmac(request)


def spend_rate_token(request: HttpRequest, partner: Partner | None) -> None:
    if partner is None:
        key, (per_minute, burst) = f"anon:{request.META.get('REMOTE_ADDR', '')}", ANONYMOUS_LIMITS
    else:
        key, (per_minute, burst) = partner.partner_id, rate_limits_of(partner)
    decision = limiter.consume(key, per_minute=per_minute, burst=burst)
    if partner is not None:
        counters.call(partner.partner_id, request.method or "GET", allowed=decision.allowed)
    request.sandbox_rate = decision  # type: ignore[attr-defined]
    if not decision.allowed:
        raise RateLimited(
            "Rate limit exceeded.", details={"retry_after": decision.retry_after}, headers=decision.headers()
        )


def authorize(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise InsufficientScope(scope)
    if principal.role is not None and scope not in ROLE_SCOPES.get(principal.role, frozenset()):
        raise Forbidden(f"The role {principal.role} may not use {scope}.", details={"role": principal.role})
    if principal.partner.status != "active":
        raise Forbidden("This partner is suspended.")


class PartnerAuth(AuthBase):
    """`auth=PartnerAuth("vm:read")` on an operation: who calls, may they, and have they quota left."""

    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = "X-API-Key"

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def __call__(self, request: HttpRequest) -> Principal:
        try:
            principal = identify(request)
        except Unauthorized:
            spend_rate_token(request, None)
            raise
        spend_rate_token(request, principal.partner)
        authorize(principal, self.scope)
        request.sandbox_idempotency = idempotency_begin(  # type: ignore[attr-defined]
            request=request, partner=principal.partner
        )
        return principal
