"""The Partner API (django-ninja): routers, the error envelope for every failure, OpenAPI."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from sandbox.api import integrations, metrics, migrations, partners, vms, webhooks
from sandbox.api.errors import ApiError, error_response, render_api_error
from sandbox.api.openapi import PartnerNinjaAPI
from sandbox.api.schemas import Ping
from sandbox.core.serializers import iso
from sandbox.core.services.idempotency import IdempotentReplay

log = logging.getLogger("sandbox.api")

api = PartnerNinjaAPI(
    title="NovaCron Partner API (sandbox)",
    version="1.0.0",
    description="The NovaCron platform's Partner API, served by the sandbox. See docs/partner-api.md.",
    urls_namespace="sandbox_api",
    docs_url="/docs",
)
for module in (partners, vms, migrations, metrics, integrations, webhooks):
    api.add_router("", module.router)

_STATUS_CODES = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "validation_error", 409: "conflict", 413: "payload_too_large", 429: "rate_limited",
                 503: "unavailable"}  # fmt: skip
_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file", "payload"}


@api.get("/ping", response=Ping, tags=["health"], auth=None)
def ping(request: HttpRequest) -> dict[str, object]:
    return {"ok": True, "time": iso(datetime.now(UTC))}


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return render_api_error(request, exc)


@api.exception_handler(IdempotentReplay)
def on_replay(request: HttpRequest, exc: IdempotentReplay) -> HttpResponse:
    response = HttpResponse(exc.body, status=exc.status_code, content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ())]
        while location and location[0] in _LOCATIONS:
            location.pop(0)
        fields.setdefault(".".join(location) or "body", []).append(str(error.get("msg", "invalid")))
    return error_response(request, status=400, code="validation_error", message="The request is not valid.",
                          details={"fields": fields})  # fmt: skip


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, status=401, code="unauthorized", message="Authentication required.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = _STATUS_CODES.get(exc.status_code, "internal_error")
    return error_response(request, status=exc.status_code, code=code, message=str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, status=404, code="not_found", message="Not found.")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, status=413, code="payload_too_large", message="The body is too large.")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(request, status=500, code="internal_error", message="Internal error.")
