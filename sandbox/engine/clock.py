"""Simulated time: the sandbox runs SANDBOX_TIME_SCALE simulated seconds per real second.

The plan (`migration_plan`) lives on the simulated clock; everything the API reports is on the wall
clock, so a partner can compare it with its own: timestamps, `estimated_completion`, rates (bytes per
real second: a simulated migration moves its bytes SANDBOX_TIME_SCALE times faster than its link) and
durations such as `downtime_ms`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings


def time_scale() -> float:
    return max(0.001, float(settings.SANDBOX_TIME_SCALE))


def real_delta(simulated_seconds: float) -> timedelta:
    return timedelta(seconds=simulated_seconds / time_scale())


def simulated_since(start: datetime, now: datetime) -> float:
    return max(0.0, (now - start).total_seconds()) * time_scale()


def metrics_on_wall_clock(metrics: dict[str, Any]) -> dict[str, Any]:
    """A migration's figures from the plan (simulated seconds) as the API reports them (real seconds)."""
    scale = time_scale()
    downtime_ms = metrics.get("downtime_ms") or 0
    return {
        **metrics,
        "transfer_rate_mbps": round(float(metrics.get("transfer_rate_mbps") or 0.0) * scale, 1),
        "dirty_rate_mbps": round(float(metrics.get("dirty_rate_mbps") or 0.0) * scale, 1),
        # A downtime there was is never reported as none, however fast the clock runs.
        "downtime_ms": max(1, round(downtime_ms / scale)) if downtime_ms > 0 else 0,
    }
