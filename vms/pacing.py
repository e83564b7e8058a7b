"""Pacing background sync so it never spends more than its share of the partner's API budget.

NovaCron gives each partner one token bucket for everything: the portal's Celery sync and the clicks of
every signed-in person draw from it. The sync therefore spaces its requests to use at most
`SYNC_BUDGET_SHARE` of the per-minute limit, holds back further when the last `X-RateLimit-Remaining`
says people have been busy, and waits out a 429 instead of hammering.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from novacron.errors import RateLimitError

if TYPE_CHECKING:
    from novacron.models import RateLimitInfo

    from partners.models import Partner

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The contract's per-minute limits, used until NovaCron has sent us its own X-RateLimit-Limit.
TIER_LIMITS_PER_MINUTE: dict[str, int] = {"bronze": 100, "silver": 500, "gold": 1000, "platinum": 5000}


def partner_limit_per_minute(partner: Partner) -> int:
    """The partner's per-minute API limit: the last header NovaCron sent, else its tier's."""
    if partner.rate_limit_limit:
        return int(partner.rate_limit_limit)
    return TIER_LIMITS_PER_MINUTE.get(partner.tier, TIER_LIMITS_PER_MINUTE["bronze"])


class SyncPacer:
    """Spaces API calls to `share` of `limit_per_minute`, and backs off on rate limiting.

    `clock` and `sleep` are injectable so tests can run a whole paced sync in no time and check the
    spacing it would have had.
    """

    def __init__(
        self,
        *,
        limit_per_minute: int,
        share: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_rate_limit_retries: int = 5,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.share = share
        self._clock = clock
        self._sleep = sleep
        self.max_rate_limit_retries = max_rate_limit_retries
        self.limit_per_minute = max(int(limit_per_minute), 1)
        self._next_call_at: float | None = None
        self.calls = 0
        self.waited = 0.0
        self.call_times: list[float] = []

    @property
    def interval(self) -> float:
        """Seconds between two calls so that a minute holds at most `share` of the limit."""
        return 60.0 / (self.limit_per_minute * self.share)

    @property
    def reserve(self) -> int:
        """Tokens left for people: below this, the sync waits for the bucket to refill."""
        return math.ceil(self.limit_per_minute * (1 - self.share))

    def call(self, request: Callable[[], T], *, rate_limit: Callable[[], RateLimitInfo | None]) -> T:
        """Make one paced API request; wait and retry when NovaCron answers 429."""
        attempt = 0
        while True:
            self._wait_turn()
            try:
                result = request()
            except RateLimitError as error:
                attempt += 1
                if attempt > self.max_rate_limit_retries:
                    raise
                self._back_off(error.retry_after)
                continue
            finally:
                self.observe(rate_limit())
            return result

    def observe(self, info: RateLimitInfo | None) -> None:
        """Take in the last X-RateLimit-* headers: a new limit, or a bucket people have drained."""
        if info is None:
            return
        if info.limit > 0:
            self.limit_per_minute = info.limit
        shortfall = self.reserve - info.remaining
        if shortfall > 0:
            # The bucket refills at limit/60 tokens a second: wait until people have their reserve back.
            refill = shortfall * 60.0 / self.limit_per_minute
            self._push_next_call(self._clock() + refill)

    def _wait_turn(self) -> None:
        now = self._clock()
        if self._next_call_at is not None and now < self._next_call_at:
            wait = self._next_call_at - now
            self._sleep(wait)
            self.waited += wait
            now = self._next_call_at
        self._next_call_at = now + self.interval
        self.calls += 1
        self.call_times.append(now)

    def _back_off(self, retry_after: float) -> None:
        wait = max(retry_after, self.interval, 1.0)
        logger.info("sync: NovaCron rate limited us, backing off %.1fs", wait)
        self._sleep(wait)
        self.waited += wait
        self._next_call_at = self._clock()

    def _push_next_call(self, at: float) -> None:
        if self._next_call_at is None or at > self._next_call_at:
            self._next_call_at = at
