"""Fault injection, off by default: configured by the SANDBOX_FAULTS setting and changed at run time
through `/sandbox/faults`.

Keys (all optional): `latency_ms` (added to every API call), `error_rates` ({path prefix: probability
of a 503}), `rate_limit_storm` (every API call gets 429), `webhook_drop_rate` (deliveries dropped and
marked failed without being sent), `webhook_duplicate_rate` (sent twice), `webhook_delay_seconds`
(added before the first attempt), `webhook_out_of_order` (due deliveries sent in shuffled order).
"""

from __future__ import annotations

import random
import threading
from typing import Any

from django.conf import settings

KNOWN_KEYS: dict[str, type | tuple[type, ...]] = {
    "latency_ms": (int, float),
    "error_rates": dict,
    "rate_limit_storm": bool,
    "webhook_drop_rate": (int, float),
    "webhook_duplicate_rate": (int, float),
    "webhook_delay_seconds": (int, float),
    "webhook_out_of_order": bool,
}

_lock = threading.Lock()
_runtime: dict[str, Any] | None = None
_random = random.Random()


def current() -> dict[str, Any]:
    with _lock:
        if _runtime is not None:
            return dict(_runtime)
    return dict(getattr(settings, "SANDBOX_FAULTS", {}) or {})


def validate(config: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for key, value in config.items():
        expected = KNOWN_KEYS.get(key)
        if expected is None:
            problems[key] = ["unknown fault"]
        elif not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            problems[key] = ["wrong type"]
    return problems


def replace(config: dict[str, Any] | None) -> None:
    """Sets the run-time faults; None goes back to the SANDBOX_FAULTS setting."""
    global _runtime
    with _lock:
        _runtime = None if config is None else dict(config)


def chance(probability: float) -> bool:
    return probability > 0 and _random.random() < probability


def error_rate_for(path: str, config: dict[str, Any]) -> float:
    rates: dict[str, float] = config.get("error_rates") or {}
    matching = [prefix for prefix in rates if path.startswith(prefix)]
    return float(rates[max(matching, key=len)]) if matching else 0.0
