"""The portal's health, as orchestrators and operators ask for it.

- live: the process answers; nothing else is checked, so a slow dependency never gets it restarted.
- ready: the database and the Celery broker answer, the two things no page or webhook works without.
  NovaCron is deliberately not a readiness check: pages serve the cached fleet while it is away, and
  taking every portal process out of rotation over its outage would turn it into ours.
- status: ready's checks plus what an operator watches: NovaCron, how fresh the partners' syncs are,
  and when beat and a worker last showed a sign of life. Only ready's checks make it fail. It is not
  signed in, so it reports counts and ages, never a partner's name or id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from vms.selectors import last_vm_sync_by_partner
from vms.sync import partners_to_sync

# Each dependency gets a short deadline: a load balancer's probe must answer quickly.
BROKER_TIMEOUT_SECONDS = 2  # whole seconds: kombu types ensure_connection(timeout=) as int
NOVACRON_TIMEOUT_SECONDS = 2.0

# Written by beat when it queues `portal.heartbeat`, and by the worker that runs it (portal.celery).
HEARTBEAT_SOURCES = ("beat", "worker")
# Kept well past any outage worth reporting; an absent key reads as "never seen".
HEARTBEAT_KEEP_SECONDS = 7 * 24 * 3600


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    # The portal's app (portal.celery), which imports this module for the heartbeats.
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    return "ok"


def check_novacron() -> str:
    url = settings.NOVACRON_API_URL.rstrip("/") + "/api/v1/ping"
    response = requests.get(url, timeout=NOVACRON_TIMEOUT_SECONDS)
    # Any answer short of a server error means NovaCron is up and reachable from here.
    if response.status_code >= 500:
        return f"error: HTTP {response.status_code}"
    return "ok"


READINESS_CHECKS: dict[str, Callable[[], str]] = {"database": check_database, "broker": check_broker}
STATUS_CHECKS: dict[str, Callable[[], str]] = {"novacron": check_novacron}


@dataclass
class Report:
    checks: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(self.checks.get(name) == "ok" for name in READINESS_CHECKS)

    @property
    def http_status(self) -> int:
        return 200 if self.ready else 503

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ready else "error", "checks": self.checks, **self.details}


def _run(checks: dict[str, Callable[[], str]]) -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = check()
        except Exception as exc:  # a probe reports every failure instead of raising
            results[name] = f"error: {exc.__class__.__name__}"
    return results


def readiness() -> Report:
    return Report(checks=_run(READINESS_CHECKS))


def status() -> Report:
    report = Report(checks=_run({**READINESS_CHECKS, **STATUS_CHECKS}))
    for name, describe in (("sync", sync_freshness), ("heartbeats", heartbeat_ages)):
        try:
            report.details[name] = describe()
        except Exception as exc:  # the database may be the thing that is down
            report.details[name] = f"error: {exc.__class__.__name__}"
    return report


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 1)


def sync_freshness() -> dict[str, Any]:
    """How current the cached fleets are, over the partners that sync (the inventory badge's rule)."""
    now = timezone.now()
    last = last_vm_sync_by_partner()
    ages = [_age(last.get(partner.pk), now) for partner in partners_to_sync()]
    synced = [age for age in ages if age is not None]
    return {
        "partners": len(ages),
        "never_synced": len(ages) - len(synced),
        "stale": sum(1 for age in ages if age is None or age > settings.SYNC_STALE_AFTER_SECONDS),
        "stale_after_seconds": settings.SYNC_STALE_AFTER_SECONDS,
        "oldest_success_age_seconds": max(synced, default=None),
    }


def heartbeat_record(*, source: str) -> None:
    cache.set(f"portal:heartbeat:{source}", timezone.now().timestamp(), timeout=HEARTBEAT_KEEP_SECONDS)


def heartbeat_ages() -> dict[str, float | None]:
    """Seconds since beat queued a heartbeat and since a worker ran one (None: never seen).

    Only beat queues the heartbeat task, so a stale worker age next to a fresh beat age means the
    workers are down or behind; both stale means beat is (and then says nothing of the workers).
    """
    now = timezone.now().timestamp()
    ages: dict[str, float | None] = {}
    for source in HEARTBEAT_SOURCES:
        seen = cache.get(f"portal:heartbeat:{source}")
        ages[f"{source}_age_seconds"] = None if seen is None else round(now - float(seen), 1)
    ages["interval_seconds"] = settings.HEARTBEAT_INTERVAL_SECONDS
    return ages
