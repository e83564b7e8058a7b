"""Client-side rate limiting: a token bucket, and respect for the server's reported budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .models import RateLimitInfo


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, at most ``burst`` banked.

    A caller that finds the bucket empty reserves the next token (the balance goes negative) and
    sleeps outside the lock, so concurrent callers queue up in order without holding the lock.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate, 1.0))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; return how long the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Block until a token is available; return the time waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


class ServerBudget:
    """The last ``X-RateLimit-*`` headers seen, and how long to hold off when they said zero."""

    def __init__(self, *, clock: Callable[[], float] = time.time, max_wait: float = 60.0) -> None:
        self._clock = clock
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._info: RateLimitInfo | None = None
        self._seen_at = 0.0

    @property
    def info(self) -> RateLimitInfo | None:
        return self._info

    def record(self, info: RateLimitInfo | None) -> None:
        if info is None:
            return
        with self._lock:
            self._info, self._seen_at = info, self._clock()

    def wait_needed(self) -> float:
        """Seconds to wait before the next call so it does not meet a 429, capped by ``max_wait``.

        The contract's ``X-RateLimit-Reset`` is when the bucket is *full* again, but one token comes
        back after ``60 / limit`` seconds; waiting for a full bucket would stall a busy client for
        up to a minute and a half, so the earlier of the two is enough.
        """
        with self._lock:
            info, seen_at = self._info, self._seen_at
        if info is None or info.remaining > 0:
            return 0.0
        now = self._clock()
        until_reset = info.reset.timestamp() - now
        if info.limit > 0:
            until_reset = min(until_reset, seen_at + 60.0 / info.limit - now)
        return min(max(until_reset, 0.0), self._max_wait)
