"""Health endpoints (portal.health has the checks): unauthenticated, never cached, JSON."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import health


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No dependency is checked, so none can get it restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness (also served at `/healthz`): 503 naming the failing check when the database or the
    broker does not answer."""
    report = health.readiness()
    return JsonResponse(report.as_json(), status=report.http_status)


@never_cache
@require_GET
def status(request: HttpRequest) -> JsonResponse:
    """Readiness plus NovaCron, sync freshness and heartbeats, which are reported but never fail it."""
    report = health.status()
    return JsonResponse(report.as_json(), status=report.http_status)
