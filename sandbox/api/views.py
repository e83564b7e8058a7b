"""Plain Django views outside the Partner API: health and the fault-injection switchboard."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.engine import faults


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@csrf_exempt  # JSON only: a browser cannot send application/json cross-site without a preflight
def faults_view(request: HttpRequest) -> HttpResponse:
    """GET the active faults; PUT/POST a JSON object to replace them; DELETE to go back to the setting."""
    if request.method == "GET":
        return JsonResponse({"faults": faults.current()})
    if request.method == "DELETE":
        faults.replace(None)
        return JsonResponse({"faults": faults.current()})
    if request.method not in ("PUT", "POST"):
        return JsonResponse({"error": "method not allowed"}, status=405)
    if not (request.content_type or "").startswith("application/json"):
        return JsonResponse({"error": "send application/json"}, status=415)
    try:
        config = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "invalid JSON"}, status=400)
    if not isinstance(config, dict):
        return JsonResponse({"error": "send a JSON object"}, status=400)
    problems = faults.validate(config)
    if problems:
        return JsonResponse({"error": "invalid faults", "fields": problems}, status=400)
    faults.replace(config)
    return JsonResponse({"faults": faults.current()})
