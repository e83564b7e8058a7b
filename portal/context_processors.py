from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    """What every page's layout needs: the signed-in user's partner."""
    user = getattr(request, "user", None)
    partner = getattr(user, "partner", None) if user is not None and user.is_authenticated else None
    return {"current_partner": partner}
