"""The sandbox's own count of what each partner did: API calls let through and refused by the rate
limiter (by HTTP method, with their times), and the most migrations it ever had active at once.

What a partner's client believes it sent is its own story; benchmarks and tests compare it with
these, read through `/sandbox/counters` (GET; DELETE starts again). In memory behind a lock, like the
rate limiter: the sandbox serves from one process.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

# Call times kept per partner: enough for any bench run, bounded for a sandbox left running.
MAX_CALL_TIMES = 500_000


class _PartnerCounts:
    __slots__ = ("active_migrations_peak", "calls", "refused", "times")

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.refused = 0
        self.times: deque[tuple[float, str]] = deque(maxlen=MAX_CALL_TIMES)
        self.active_migrations_peak = 0


def _peak_in_window(times: list[float], seconds: float) -> int:
    """The most calls within any `seconds`-long window (times sorted)."""
    peak, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= seconds:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


class Counters:
    def __init__(self) -> None:
        self._partners: dict[str, _PartnerCounts] = {}
        self._lock = threading.Lock()

    def _of(self, partner_id: str) -> _PartnerCounts:
        counts = self._partners.get(partner_id)
        if counts is None:
            counts = self._partners[partner_id] = _PartnerCounts()
        return counts

    def call(self, partner_id: str, method: str, *, allowed: bool, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            counts = self._of(partner_id)
            if not allowed:
                counts.refused += 1
                return
            counts.calls[method] = counts.calls.get(method, 0) + 1
            counts.times.append((now, method))

    def migrations_active(self, partner_id: str, active: int) -> None:
        with self._lock:
            counts = self._of(partner_id)
            counts.active_migrations_peak = max(counts.active_migrations_peak, active)

    def report(self, partner_id: str, *, since: float = 0.0, until: float | None = None) -> dict[str, Any]:
        """Totals since the last reset, and for the calls between `since` and `until` (epoch seconds):
        their count by method, first and last time, and the most in any 60 s and any 10 s window, for
        all of them and per method."""
        with self._lock:
            counts = self._of(partner_id)
            calls, refused, peak = dict(counts.calls), counts.refused, counts.active_migrations_peak
            times = [
                (at, method) for at, method in counts.times if at >= since and (until is None or at <= until)
            ]
        window: dict[str, Any] = {"calls": len(times), "by_method": {}, "first": None, "last": None}
        if times:
            window["first"], window["last"] = times[0][0], times[-1][0]
        groups: dict[str, list[float]] = {"all": [at for at, _ in times]}
        for at, method in times:
            groups.setdefault(method, []).append(at)
        for name, group in groups.items():
            if name != "all":
                window["by_method"][name] = len(group)
        window["peak_per_60s"] = {name: _peak_in_window(group, 60.0) for name, group in groups.items()}
        window["peak_per_10s"] = {name: _peak_in_window(group, 10.0) for name, group in groups.items()}
        return {
            "partner_id": partner_id,
            "calls": calls,
            "refused": refused,
            "active_migrations_peak": peak,
            "window": window,
        }

    def reset(self) -> None:
        with self._lock:
            self._partners.clear()


counters = Counters()
