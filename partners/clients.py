"""The partner-level NovaCron client (HMAC credentials) that background work uses."""

from __future__ import annotations

import time
from typing import Any

import novacron
import requests
from django.conf import settings
from novacron.models import RateLimitInfo
from novacron.transport import pooled_session

from lib.logs import correlation_id
from partners.models import Partner
from partners.services import record_rate_limit

# Keep the rate-limit figures fresh without a database write per API call.
RATE_LIMIT_RECORD_INTERVAL = 1.0


def recording_session(partner: Partner, pool_maxsize: int) -> requests.Session:
    """An HTTP session that writes NovaCron's X-RateLimit-* answers onto the partner as they come."""
    session = pooled_session(pool_maxsize)
    last_recorded = 0.0

    def remember_budget(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        nonlocal last_recorded
        now = time.monotonic()
        if now - last_recorded < RATE_LIMIT_RECORD_INTERVAL and response.status_code != 429:
            return
        info = RateLimitInfo.from_headers(response.headers)
        if info is not None:
            last_recorded = now
            record_rate_limit(partner, info)

    session.hooks["response"].append(remember_budget)
    return session


def partner_client(partner: Partner, **options: Any) -> novacron.Client:
    """An SDK client signing with the partner's HMAC credentials; records its rate-limit headers.

    `options` override SDKConfig fields (e.g. `rate_limit_rps` for a sync that keeps within budget).
    Background work (the sync, Celery tasks) is the main user: nobody waits on it, and a partial
    sync is worse than a slow one, so its calls may retry for up to NOVACRON_BACKGROUND_DEADLINE.
    Someone waiting on a page passes `deadline=settings.NOVACRON_TIMEOUT`.
    """
    if not (partner.api_key and partner.api_secret):
        raise ValueError(f"partner {partner.partner_id} has no API credentials in this portal")
    config = novacron.SDKConfig(
        base_url=settings.NOVACRON_API_URL,
        partner_id=partner.partner_id,
        api_key=partner.api_key,
        api_secret=partner.api_secret,
        timeout=options.pop("timeout", settings.NOVACRON_TIMEOUT),
        deadline=options.pop("deadline", settings.NOVACRON_BACKGROUND_DEADLINE),
        **options,
    )
    return novacron.Client(
        config, session=recording_session(partner, config.pool_maxsize), request_id_provider=correlation_id
    )
