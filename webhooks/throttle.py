"""The receiver's flood bound: refused deliveries per source address per minute.

Each refusal increments one counter per (address, minute) in the `webhook_throttle` cache (Redis in
deployments, atomic; each process's memory on the embedded default). Once an address has caused
`WEBHOOK_REFUSALS_PER_MINUTE` refusals in the current minute, its next deliveries are answered 429
before the body is read: no signature work and no database query, until the minute ends. Accepted
deliveries never count, so NovaCron's own address is only slowed down by its own refusals.

The address is `REMOTE_ADDR`. Behind a proxy, uvicorn's `--proxy-headers --forwarded-allow-ips`
sets it from `X-Forwarded-For` for the trusted proxies only; the portal reads no header itself.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches

MINUTE = 60
CACHE_ALIAS = "webhook_throttle"


def _key(remote_addr: str | None, minute: int) -> str:
    return f"webhook-refusals:{remote_addr or 'unknown'}:{minute}"


def _minute(now: float) -> int:
    return int(now // MINUTE)


def refusals_retry_after(remote_addr: str | None, *, now: float | None = None) -> int | None:
    """Seconds until this address may be heard again when it is over its bound, else None."""
    now = time.time() if now is None else now
    count = caches[CACHE_ALIAS].get(_key(remote_addr, _minute(now)), 0)
    if count < settings.WEBHOOK_REFUSALS_PER_MINUTE:
        return None
    return max(1, MINUTE - int(now % MINUTE))


def refusal_count(remote_addr: str | None, *, now: float | None = None) -> int:
    """Count one refusal of this address in the current minute; the minute's count so far."""
    now = time.time() if now is None else now
    cache = caches[CACHE_ALIAS]
    key = _key(remote_addr, _minute(now))
    # Kept a little past its minute, then it expires by itself: nothing to clean up.
    cache.add(key, 0, timeout=2 * MINUTE)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=2 * MINUTE)
        return 1
