"""Simulated time: the sandbox runs SANDBOX_TIME_SCALE simulated seconds per real second."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings


def time_scale() -> float:
    return max(0.001, float(getattr(settings, "SANDBOX_TIME_SCALE", 10.0)))


def real_delta(simulated_seconds: float) -> timedelta:
    return timedelta(seconds=simulated_seconds / time_scale())


def simulated_since(start: datetime, now: datetime) -> float:
    return max(0.0, (now - start).total_seconds()) * time_scale()
