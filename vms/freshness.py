"""Which of two versions of a cached row is NovaCron's later word: the one ordering rule of the cache.

Answers and events reach the portal out of order and more than once (a webhook retried, a sync page read
before the event it is older than, a poll racing a webhook, the portal's own write and the event that
follows it). Every write to the cache asks these functions before it overwrites a row, so whatever order
the same facts arrive in, the cache ends in NovaCron's final state. Pure functions: no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from novacron.models import COLD_MIGRATION_PHASES, LIVE_MIGRATION_PHASES

FINISHED_MIGRATION_STATUSES = frozenset({"completed", "failed", "cancelled"})
UNFINISHED_MIGRATION_STATUSES = ("pending", "in_progress")
# The contract's phase order (the SDK's lists); `completed` last.
MIGRATION_PHASES = {"live": LIVE_MIGRATION_PHASES, "cold": COLD_MIGRATION_PHASES}


class MigrationState(Protocol):
    """What ordering needs of a migration: an SDK `MigrationStatus` and a cached `Migration` both have it."""

    @property
    def status(self) -> str: ...
    @property
    def phase(self) -> str: ...
    @property
    def migration_type(self) -> str: ...
    @property
    def progress_percentage(self) -> float: ...
    @property
    def bytes_transferred(self) -> int: ...
    @property
    def updated_at(self) -> datetime | None: ...


def _phase_rank(migration: MigrationState) -> int:
    phases = MIGRATION_PHASES.get(migration.migration_type) or MIGRATION_PHASES["live"]
    return phases.index(migration.phase) if migration.phase in phases else -1


def _lifecycle_position(migration: MigrationState) -> tuple[int, int, float, int]:
    status = migration.status
    rank = UNFINISHED_MIGRATION_STATUSES.index(status) if status in UNFINISHED_MIGRATION_STATUSES else -1
    return (
        rank,
        _phase_rank(migration),
        float(migration.progress_percentage or 0),
        int(migration.bytes_transferred or 0),
    )


def migration_is_newer(incoming: MigrationState, cached: MigrationState) -> bool:
    """True when `incoming` should replace `cached` (False for the same version again: idempotent).

    1. A finished migration (completed, failed, cancelled) never reopens; another finished answer
       replaces it only when stamped strictly later (e.g. NovaCron filling in `finished_at`).
    2. A finished answer beats an unfinished row, whatever the stamps say.
    3. Both unfinished, both stamped and the stamps differ: the later `updated_at` wins.
    4. Equal stamps, or either missing (the contract always sends one; a cached row always has one):
       the lifecycle decides — pending < in_progress, then the phase order of the migration type, then
       progress, then bytes transferred. Equal everywhere: no change.
    """
    if cached.status in FINISHED_MIGRATION_STATUSES:
        return (
            incoming.status in FINISHED_MIGRATION_STATUSES
            and incoming.updated_at is not None
            and cached.updated_at is not None
            and incoming.updated_at > cached.updated_at
        )
    if incoming.status in FINISHED_MIGRATION_STATUSES:
        return True
    if (
        incoming.updated_at is not None
        and cached.updated_at is not None
        and incoming.updated_at != cached.updated_at
    ):
        return incoming.updated_at > cached.updated_at
    return _lifecycle_position(incoming) > _lifecycle_position(cached)


@dataclass(frozen=True)
class VMVersion:
    """One version of a VM as far as ordering goes.

    `content` is what the row would show (the mapped fields), compared at equal stamps; None for a state
    the portal derived itself (the VM following its migration), which never wins a tie against NovaCron.
    `deleted` is NovaCron's tombstone (incoming) or the portal's memory of one (cached: the row is gone).
    """

    updated_at: datetime | None
    deleted: bool = False
    content: Mapping[str, Any] | None = None


def _strictly_later(incoming: datetime | None, cached: datetime | None) -> bool:
    return incoming is not None and cached is not None and incoming > cached


def vm_is_newer(incoming: VMVersion, cached: VMVersion) -> bool:
    """True when `incoming` should replace `cached` (False for the same version again: idempotent).

    1. Deletion: a tombstone removes the row unless the row is stamped strictly later; a deleted VM is
       shown again only by a version stamped strictly later than its tombstone (a reused id), never by an
       older or equally old event, nor by one without a stamp.
    2. The later `updated_at` wins.
    3. Equal stamps (the portal's own write, e.g. vm_stop, and the vm.stopped event after it carry the
       same one), or a missing stamp: NovaCron's answer replaces the row when it says something else —
       the row may hold what the portal derived (a VM following its migration) — and changes nothing
       when it says the same.
    """
    if cached.deleted:
        return not incoming.deleted and _strictly_later(incoming.updated_at, cached.updated_at)
    if incoming.deleted:
        return not _strictly_later(cached.updated_at, incoming.updated_at)
    if (
        incoming.updated_at is not None
        and cached.updated_at is not None
        and incoming.updated_at != cached.updated_at
    ):
        return incoming.updated_at > cached.updated_at
    return incoming.content is not None and incoming.content != cached.content
