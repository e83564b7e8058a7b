from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone


def portal(request: HttpRequest) -> dict[str, Any]:
    """What every page's layout needs: the signed-in user's partner, and whether NovaCron answers it."""
    user = getattr(request, "user", None)
    partner = getattr(user, "partner", None) if user is not None and user.is_authenticated else None
    return {"current_partner": partner, "novacron_outage": _outage(partner)}


def _outage(partner: Any) -> dict[str, Any] | None:
    """Since when NovaCron has not answered, and how old the cached data is (None while it answers)."""
    since = getattr(partner, "novacron_unreachable_since", None)
    if since is None:
        return None
    from vms.selectors import data_age

    now = timezone.now()
    synced_at = data_age(partner=partner).synced_at
    return {
        "since": since,
        "for_seconds": (now - since).total_seconds(),
        "data_age_seconds": (now - synced_at).total_seconds() if synced_at else None,
    }
