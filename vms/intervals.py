"""VM state intervals: what each VM was (status, size, placement, tags) over time, for usage reports.

Called only from `vms.cache`, with every state any path saw: the sync's pages, webhooks, polls and the
portal's own writes, including the ones the cache itself ignores as older than its row (a late event
still says what the VM was at its moment). Every distinct stamp becomes a boundary, so the same facts
give the same rows whatever order they arrive in:

- a state stamped after the VM's last row closes that row and opens a new one (the common case, one
  read per batch);
- a state stamped inside an earlier row splits it, and the rows after it are walked again: derived rows
  (a migration's start and end, which NovaCron reports on the migration, not as a VM event) take their
  size, tags and placement from the row before them;
- a stamp already held is a duplicate: NovaCron's own VM object replaces a derived row or an older
  word at the same stamp, and changes nothing when it says the same;
- a deletion ends the VM: its row (status `deleted`, counting nothing) is the last, and any row stamped
  after it is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from novacron.models import VM as ApiVM

from lib.bulk import insert_many, update_many
from partners.models import Partner
from vms.models import VM, Cluster, Migration, VMStateInterval

Origin = VMStateInterval.Origin
DELETED = VM.Status.DELETED
MIGRATING = VM.Status.MIGRATING

SIZE_AND_TAGS = ("vm_name", "vm_created_at", "cpu_cores", "memory_gb", "tags")
PLACEMENT = ("cloud_provider", "region", "cluster")
STATE_FIELDS = ("origin", "status", *SIZE_AND_TAGS, *PLACEMENT)


@dataclass(frozen=True)
class StateSeen:
    """One state of one VM at one stamp, as some path of the cache saw it."""

    vm_id: str
    at: datetime
    origin: str
    status: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)


def seen_vm(vm: ApiVM, *, now: datetime) -> StateSeen:
    """NovaCron's VM object: the state it names from its `updated_at` (our clock when it has none)."""
    status = DELETED if vm.is_deleted else vm.status
    return StateSeen(
        vm_id=vm.vm_id,
        at=vm.updated_at or now,
        origin=Origin.VM,
        status=status,
        fields={
            "vm_name": vm.name or "",
            "vm_created_at": vm.created_at,
            "cpu_cores": vm.cpu_cores or 0,
            "memory_gb": vm.memory_gb or 0,
            "cloud_provider": vm.cloud_provider or "",
            "region": vm.region or "",
            "cluster": vm.cluster or "",
            "tags": dict(vm.tags or {}),
        },
    )


def seen_deleted(vm_id: str, *, at: datetime) -> StateSeen:
    """A deletion known without NovaCron's stamp (the portal's own delete, a 404, a full sync's sweep)."""
    return StateSeen(vm_id=vm_id, at=at, origin=Origin.VM, status=DELETED)


def seen_migration(migration: Migration, *, target: Cluster | None) -> list[StateSeen]:
    """The VM's states a migration implies: migrating from its creation, then back once it finished."""
    seen = [
        StateSeen(
            vm_id=migration.source_vm_id,
            at=migration.created_at,
            origin=Origin.MIGRATION_START,
            status=MIGRATING,
        )
    ]
    if not migration.is_active:
        ended = migration.finished_at or migration.updated_at
        if migration.status == Migration.Status.COMPLETED and migration.target_cluster:
            placement = {"cluster": migration.target_cluster}
            if target is not None:
                placement |= {"cloud_provider": target.cloud_provider, "region": target.region}
            seen.append(
                StateSeen(
                    migration.source_vm_id,
                    max(ended, migration.created_at),
                    Origin.MIGRATION_LANDED,
                    "",
                    placement,
                )
            )
        else:
            seen.append(
                StateSeen(migration.source_vm_id, max(ended, migration.created_at), Origin.MIGRATION_RESTORED)
            )
    return seen


def seen_migrations(*, partner: Partner, migrations: Sequence[Migration]) -> list[StateSeen]:
    targets = {
        cluster.cluster_id: cluster
        for cluster in Cluster.objects.filter(
            partner=partner, cluster_id__in={m.target_cluster for m in migrations if m.target_cluster}
        )
    }
    return [s for m in migrations for s in seen_migration(m, target=targets.get(m.target_cluster))]


# --- the writer ---------------------------------------------------------------------------------


def _state(row: VMStateInterval) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in STATE_FIELDS)


def _new_row(partner: Partner, seen: StateSeen, now: datetime) -> VMStateInterval:
    row = VMStateInterval(partner=partner, vm_id=seen.vm_id, started_at=seen.at, recorded_at=now)
    _take(row, seen)
    return row


def _take(row: VMStateInterval, seen: StateSeen) -> None:
    row.origin, row.status = seen.origin, seen.status
    for name, value in seen.fields.items():
        setattr(row, name, value)


def _place(rows: dict[datetime, VMStateInterval], partner: Partner, seen: StateSeen, now: datetime) -> None:
    held = rows.get(seen.at)
    if held is None:
        rows[seen.at] = _new_row(partner, seen, now)
    elif seen.origin == Origin.VM or held.origin != Origin.VM:
        # NovaCron's VM object is the best word at its stamp; a derived state only replaces a derived one.
        _take(held, seen)


def _walk(
    ordered: list[VMStateInterval], fallback: Mapping[str, Any], *, base: VMStateInterval | None
) -> tuple[list[VMStateInterval], list[VMStateInterval]]:
    """Derive, chain and truncate the rows of one VM in stamp order: (kept, dropped).

    `base`, the first row, is stamped before every new state and is not `migrating`: it stays as it is
    and tells where a migration after it returns the VM to.
    """
    kept: list[VMStateInterval] = []
    dropped: list[VMStateInterval] = []
    settled = ""  # the last status that was not `migrating`: where a migration returns the VM to
    for row in ordered:
        if kept and kept[-1].status == DELETED:
            dropped.append(row)
            continue
        before = kept[-1] if kept else None
        if row is base:
            settled = row.status
            kept.append(row)
            continue
        source: Mapping[str, Any] = (
            {name: getattr(before, name) for name in (*SIZE_AND_TAGS, *PLACEMENT)} if before else fallback
        )
        if row.origin == Origin.MIGRATION_START:
            for name, value in source.items():
                setattr(row, name, value)
            row.status = MIGRATING
        elif row.origin in (Origin.MIGRATION_LANDED, Origin.MIGRATION_RESTORED):
            own = PLACEMENT if row.origin == Origin.MIGRATION_LANDED else ()
            for name, value in source.items():
                if name not in own or not getattr(row, name):
                    setattr(row, name, value)
            row.status = settled or VM.Status.RUNNING
        if row.status != MIGRATING:
            settled = row.status
        if before is not None:
            before.ended_at = row.started_at
        kept.append(row)
    if kept:
        kept[-1].ended_at = None
    return kept, dropped


def _fallback(partner: Partner, vm_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What a derived state of a VM without earlier rows starts from: the cached VM row, if any."""
    names = {
        "name": "vm_name",
        "created_at": "vm_created_at",
        "cpu_cores": "cpu_cores",
        "memory_gb": "memory_gb",
        "tags": "tags",
        "cloud_provider": "cloud_provider",
        "region": "region",
        "cluster": "cluster",
    }
    return {
        row["vm_id"]: {names[key]: value for key, value in row.items() if key in names}
        for row in VM.objects.filter(partner=partner, vm_id__in=list(vm_ids)).values("vm_id", *names)
    }


# Inside the caller's transaction when there is one: a savepoint would cost two queries per write.
@transaction.atomic(savepoint=False)
def record(*, partner: Partner, seen: Iterable[StateSeen], now: datetime) -> int:
    """Fold states into the partner's intervals; returns how many rows were written or dropped."""
    by_vm: dict[str, list[StateSeen]] = defaultdict(list)
    for state in seen:
        by_vm[state.vm_id].append(state)
    if not by_vm:
        return 0
    open_rows = {
        row.vm_id: row
        for row in VMStateInterval.objects.select_for_update().filter(
            partner=partner, vm_id__in=list(by_vm), ended_at__isnull=True
        )
    }
    derived_without_rows = [
        vm_id
        for vm_id, states in by_vm.items()
        if vm_id not in open_rows and any(s.origin != Origin.VM for s in states)
    ]
    fallbacks = _fallback(partner, derived_without_rows) if derived_without_rows else {}
    created: list[VMStateInterval] = []
    updated: list[VMStateInterval] = []
    dropped: list[VMStateInterval] = []
    for vm_id, states in by_vm.items():
        last = open_rows.get(vm_id)
        earliest = min(state.at for state in states)
        base: VMStateInterval | None = None
        if last is None:
            loaded = []
        elif earliest > last.started_at and last.status != MIGRATING:
            loaded = [last]
            base = last
        else:
            # From the last settled row before the new states (a migration's end needs the status
            # before its start), or from the VM's first row.
            since = (
                VMStateInterval.objects.filter(partner=partner, vm_id=vm_id, started_at__lt=earliest)
                .exclude(status=MIGRATING)
                .order_by("-started_at")
                .values_list("started_at", flat=True)
                .first()
            )
            tail = VMStateInterval.objects.select_for_update().filter(partner=partner, vm_id=vm_id)
            if since is not None:
                tail = tail.filter(started_at__gte=since)
            loaded = list(tail.order_by("started_at"))
            base = loaded[0] if since is not None else None
        before = {row.pk: (_state(row), row.ended_at) for row in loaded}
        rows = {row.started_at: row for row in loaded}
        for state in states:
            _place(rows, partner, state, now)
        kept, gone = _walk([rows[at] for at in sorted(rows)], fallbacks.get(vm_id, {}), base=base)
        for row in kept:
            if row._state.adding:  # not saved yet
                created.append(row)
            elif before[row.pk] != (_state(row), row.ended_at):
                row.recorded_at = now
                updated.append(row)
        dropped += [row for row in gone if not row._state.adding]
    if dropped:
        VMStateInterval.objects.filter(pk__in=[row.pk for row in dropped]).delete()
    # One statement each, run per row (lib.bulk): bulk_update's CASE per field cost seconds a page.
    if updated:
        update_many(updated, ["ended_at", *STATE_FIELDS, "recorded_at"])
    if created:
        insert_many(created, on_conflict="ignore")
    return len(created) + len(updated) + len(dropped)
