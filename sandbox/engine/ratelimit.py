"""Per-partner token buckets (capacity = burst, refilled at limit/60 per second).

In memory behind a lock: the sandbox serves from one process, so this is exact and cheap.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class _Bucket:
    __slots__ = ("calls_minute", "calls_this_minute", "tokens", "updated")

    def __init__(self, capacity: float, now: float) -> None:
        self.tokens = capacity
        self.updated = now
        self.calls_minute = int(now // 60)
        self.calls_this_minute = 0


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def consume(self, key: str, *, per_minute: int, burst: int, now: float | None = None) -> RateDecision:
        now = time.time() if now is None else now
        refill_per_second = per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * refill_per_second)
            bucket.updated = now
            minute = int(now // 60)
            if minute != bucket.calls_minute:
                bucket.calls_minute, bucket.calls_this_minute = minute, 0
            allowed = bucket.tokens >= 1.0
            if allowed:
                bucket.tokens -= 1.0
                bucket.calls_this_minute += 1
            tokens = bucket.tokens
        missing_to_full = burst - tokens
        reset_at = math.ceil(now + missing_to_full / refill_per_second)
        retry_after = max(1, math.ceil((1.0 - tokens) / refill_per_second)) if not allowed else 0
        return RateDecision(allowed, per_minute, int(tokens), reset_at, retry_after)

    def calls_this_minute(self, key: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.calls_minute != int(now // 60):
                return 0
            return bucket.calls_this_minute

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


limiter = RateLimiter()
