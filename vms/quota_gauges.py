"""The overview's quota cards: one gauge per synced quota plus the API rate budget, and their live refresh.

The cards are the `quota_gauges` partial of `vms/overview.html` (element `#quota-gauges`), so the page
and the live fragment are one template. `quota_gauges_publish` sends the re-rendered cards to the
partner's open pages (topic `QUOTAS_TOPIC`) after a partner sync, e.g. the quick one a webhook schedules.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.template.loader import render_to_string

from lib.debounce import run_soon
from lib.times import rendered_in_utc
from live.services import publish
from partners.models import Partner
from vms import selectors
from vms.topics import QUOTAS_TOPIC

QUOTA_LABELS = {
    "api_calls_per_minute": "API calls per minute",
    "vm_create_per_day": "VMs created today",
    "migration_concurrent": "Concurrent migrations",
}


def _level(ratio: float) -> str:
    return "danger" if ratio >= 1 else "warning" if ratio >= 0.8 else "success"


def quota_gauge(quota: Any) -> dict[str, Any]:
    ratio = quota.used_ratio
    return {
        "name": quota.name,
        "label": QUOTA_LABELS.get(quota.name, quota.name.replace("_", " ")),
        "used": quota.used,
        "limit": quota.limit,
        "percent": min(round(ratio * 100), 100),
        "level": _level(ratio),
        "reset_at": quota.reset_at,
    }


def rate_budget(partner: Partner) -> dict[str, Any] | None:
    if not partner.rate_limit_limit:
        return None
    limit, remaining = partner.rate_limit_limit, max(partner.rate_limit_remaining or 0, 0)
    spent = max(limit - remaining, 0)
    ratio = spent / limit
    return {
        "limit": limit,
        "remaining": remaining,
        "spent": spent,
        "percent": min(round(ratio * 100), 100),
        "level": _level(ratio),
        "reset": partner.rate_limit_reset,
    }


def quota_gauges_context(*, partner: Partner) -> dict[str, Any]:
    return {
        "gauges": [quota_gauge(quota) for quota in selectors.quotas(partner=partner)],
        "budget": rate_budget(partner),
    }


@rendered_in_utc
def quota_gauges_publish(*, partner: Partner) -> None:
    """Send the partner's current quota cards to their open overview pages (replacing `#quota-gauges`)."""
    html = render_to_string("vms/overview.html#quota_gauges", quota_gauges_context(partner=partner))
    publish(partner=partner, topic=QUOTAS_TOPIC, html=html)


# A change of quota usage (a VM created or deleted, a migration slot taken or freed, by webhook or by
# the portal's own write) re-reads the quotas (two API calls) at most once per partner per window,
# after the window closed, instead of waiting for the 60 s beat sync.
QUOTA_REFRESH_WINDOW_SECONDS = 2
QUOTA_REFRESH_DELAY_SECONDS = 2.5
# vms.tasks imports this module, so the task is looked up by name (VmsConfig.ready registers it).
REFRESH_QUOTAS_TASK = "vms.refresh_quotas"


def quota_refresh_soon(*, partner_pk: int) -> None:
    """Have the partner's quotas re-read and their open overview cards refreshed in ~2.5 s (call after commit)."""
    run_soon(
        current_app.tasks[REFRESH_QUOTAS_TASK],
        name="quota-refresh",
        key=partner_pk,
        window=QUOTA_REFRESH_WINDOW_SECONDS,
        delay=QUOTA_REFRESH_DELAY_SECONDS,
    )
