"""The jobs' share of the partner's API budget, held across every worker process.

NovaCron gives each partner one token bucket per minute. The sync spends at most `SYNC_BUDGET_SHARE`
of it (vms.pacing); jobs at most `JOBS_BUDGET_SHARE`, and the settings check refuses shares that sum
past 1, so the two together never exceed the limit and people keep the rest.

Jobs run in many Celery processes at once, so their pacing cannot live in one process as the sync's
does: time is cut into slots of `interval` seconds (60 / (limit * share)) and each call first claims
a free slot in the shared cache (`cache.add` is atomic in Redis and in the database cache). A slot
holds one call, whoever claims it, so the jobs of one partner never make more than `share` of its
limit per minute, however many workers run them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from partners.models import Partner
from vms.pacing import partner_limit_per_minute

# How far ahead a call may book its slot; past it the item is put back and retried later.
MAX_WAIT_SECONDS = 30.0


class BudgetExhausted(Exception):
    """No slot within MAX_WAIT_SECONDS: too many calls are queued ahead of this one."""


class JobsPacer:
    def __init__(
        self,
        *,
        partner: Partner,
        share: float | None = None,
        limit_per_minute: int | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.partner_pk = partner.pk
        self.share = settings.JOBS_BUDGET_SHARE if share is None else share
        if not 0 < self.share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.limit_per_minute = max(int(limit_per_minute or partner_limit_per_minute(partner)), 1)
        self._clock = clock
        self._sleep = sleep

    @property
    def interval(self) -> float:
        return 60.0 / (self.limit_per_minute * self.share)

    @property
    def per_minute(self) -> int:
        return math.floor(self.limit_per_minute * self.share)

    def acquire(self) -> float:
        """Wait for this call's slot; returns the time the call may go (a wall-clock timestamp)."""
        interval = self.interval
        now = self._clock()
        slot = math.ceil(now / interval)
        last = math.ceil((now + MAX_WAIT_SECONDS) / interval)
        # The slot's key lives a little longer than the slot itself, and never less than a second.
        timeout = max(2, math.ceil(MAX_WAIT_SECONDS + 2 * interval))
        while slot <= last:
            if cache.add(f"jobs:budget:{self.partner_pk}:{interval:.6f}:{slot}", 1, timeout=timeout):
                at = slot * interval
                wait = at - self._clock()
                if wait > 0:
                    self._sleep(wait)
                return at
            slot += 1
        raise BudgetExhausted(f"no API slot free within {MAX_WAIT_SECONDS:.0f}s")

    def hold_back(self, remaining: int | None) -> None:
        """After a call: NovaCron says people drained the bucket below their reserve, so wait for it."""
        if remaining is None:
            return
        reserve = math.ceil(self.limit_per_minute * (1 - self.share - settings.SYNC_BUDGET_SHARE))
        shortfall = reserve - remaining
        if shortfall > 0:
            self._sleep(min(shortfall * 60.0 / self.limit_per_minute, MAX_WAIT_SECONDS))
