"""The migration engine's clock in tests: a migration's plan is in simulated seconds, the tests' settings run
it at `SCALE` simulated seconds per real second (conftest's `SANDBOX_TIME_SCALE`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.core.models import Migration

SCALE = 10.0


def at(migration: Migration, simulated_seconds: float) -> datetime:
    """The wall-clock moment `simulated_seconds` into the migration."""
    return migration.created_at + timedelta(seconds=simulated_seconds / SCALE)


def phase_start(migration: Migration, name: str) -> float:
    """When (simulated seconds) the migration's plan starts the phase `name`."""
    return next(p[1] for p in migration.plan["phases"] if p[0] == name)
