"""When a failed attempt is worth repeating, and how long to wait first."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import APIConnectionError, ConflictError, NovaCronError, RateLimitError, ServerError

RETRYABLE_STATUSES = frozenset({502, 503, 504})


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter; a 429 waits for the server's own hint.

    Every method is retried: GET, PATCH and DELETE are idempotent on this API, and every POST
    carries an ``Idempotency-Key`` the server deduplicates on. A 409 saying that the first request
    with this key is still in progress (a double click, a retry that overtook its original) is
    retried too: once the first finishes, the server replays its answer.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_wait: float = 60.0
    clock: Callable[[], float] = time.time
    # Returns a factor in [0.5, 1): "equal jitter" keeps a floor so retries never stampede at 0 s.
    jitter: Callable[[], float] = field(default=lambda: 0.5 + random.random() / 2)

    def should_retry(self, error: NovaCronError, attempt: int) -> bool:
        """``attempt`` counts from 0 for the first try."""
        if attempt >= self.max_retries:
            return False
        if isinstance(error, APIConnectionError | RateLimitError):
            return True
        if isinstance(error, ConflictError) and error.details.get("in_progress") is True:
            return True
        return isinstance(error, ServerError) and error.status in RETRYABLE_STATUSES

    def delay(self, error: NovaCronError, attempt: int) -> float:
        backoff = float(min(self.backoff_max, self.backoff_base * 2**attempt) * self.jitter())
        if isinstance(error, RateLimitError):
            return min(max(error.retry_after, self._until_reset(error)), self.max_wait)
        return min(backoff, self.max_wait)

    def _until_reset(self, error: NovaCronError) -> float:
        """Seconds until the server takes a call again, from the 429's rate-limit headers.

        The contract's ``X-RateLimit-Reset`` is when the bucket is *full* again (up to 90 s away),
        while a single token is back after ``60 / X-RateLimit-Limit`` seconds; the earlier of the
        two is when a retry can pass, so waiting for a full bucket would only stall the caller.
        """
        try:
            until = float(error.headers.get("X-RateLimit-Reset", "")) - self.clock()
        except ValueError:
            return 0.0
        try:
            limit = int(error.headers.get("X-RateLimit-Limit", "0"))
        except ValueError:
            limit = 0
        return min(until, 60.0 / limit) if limit > 0 else until
