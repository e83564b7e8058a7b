from __future__ import annotations

from collections.abc import Callable

import requests
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# Each dependency gets a short deadline: a load balancer's probe must answer quickly.
BROKER_TIMEOUT_SECONDS = 2.0
NOVACRON_TIMEOUT_SECONDS = 2.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    from portal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    return "ok"


def check_novacron() -> str:
    url = settings.NOVACRON_API_URL.rstrip("/") + "/api/v1/ping"
    response = requests.get(url, timeout=NOVACRON_TIMEOUT_SECONDS)
    # Any answer short of a server error means NovaCron is up and reachable from here.
    if response.status_code >= 500:
        return f"error: HTTP {response.status_code}"
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "novacron": check_novacron,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness for load balancers: the database, the Celery broker and NovaCron answer."""
    checks: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            checks[name] = check()
        except Exception as exc:  # a probe reports every failure instead of raising
            checks[name] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
