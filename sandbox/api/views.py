"""Plain Django views outside the Partner API: health, the fault-injection switchboard and the counters."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.engine import faults
from sandbox.engine.counters import counters


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


@csrf_exempt  # DELETE only resets counts of a test sandbox; no body, no cookie needed
def counters_view(request: HttpRequest) -> HttpResponse:
    """GET `?partner=ID[&since=EPOCH][&until=EPOCH]`: the sandbox's own count of that partner's API calls
    (allowed by method, refused, peaks per 60 s and 10 s window) and its most active migrations at once
    (sandbox/engine/counters.py); DELETE starts every count again."""
    if request.method == "DELETE":
        counters.reset()
        return JsonResponse({"reset": True})
    if request.method != "GET":
        return JsonResponse({"error": "method not allowed"}, status=405)
    partner_id = request.GET.get("partner", "")
    if not partner_id:
        return JsonResponse({"error": "name a partner: ?partner=ID"}, status=400)
    try:
        since = float(request.GET.get("since") or 0)
        until = float(request.GET["until"]) if request.GET.get("until") else None
    except ValueError:
        return JsonResponse({"error": "since and until are epoch seconds"}, status=400)
    return JsonResponse(counters.report(partner_id, since=since, until=until))
