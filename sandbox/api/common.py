"""Small helpers the routers share: who is calling, their partner, JSON answers."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse

from sandbox.api.auth import Principal
from sandbox.api.errors import NotFound
from sandbox.core.models import Partner


def partner_of(request: HttpRequest, partner_id: str | None = None) -> Partner:
    """The caller's partner; another partner's id in the path is simply not found."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    if partner_id is not None and partner_id != principal.partner.partner_id:
        raise NotFound(f"No partner {partner_id}.")
    return principal.partner


def json_response(body: Any, status: int = 200) -> HttpResponse:
    """Pre-serialized answer: skips response-schema validation on hot paths (the shape is the schema's)."""
    return HttpResponse(
        json.dumps(body, separators=(",", ":")), status=status, content_type="application/json"
    )
