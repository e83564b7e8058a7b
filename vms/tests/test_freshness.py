"""The cache's one ordering rule (vms.freshness), and the cache ending in NovaCron's final state whatever
order, duplication or loss a real recorded event sequence reaches it in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from novacron.models import VM as ApiVM
from novacron.models import MigrationStatus

from vms.cache import as_api_vm, store_clusters, store_migration, store_migrations, store_vm, store_vms
from vms.freshness import MIGRATION_PHASES, VMVersion, migration_is_newer, vm_is_newer
from vms.models import VM, Migration
from vms.services import vm_cache_store
from webhooks.services import webhook_event_process, webhook_event_store

RECORDING = json.loads((Path(__file__).parent / "recordings" / "sandbox_events.json").read_text())
T = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


def _migration(**fields: Any) -> MigrationStatus:
    values: dict[str, Any] = {
        "migration_id": "mig-1",
        "migration_type": "live",
        "status": "in_progress",
        "phase": "data_sync",
        "progress_percentage": 40.0,
        "bytes_transferred": 400,
        "updated_at": T,
    }
    values.update(fields)
    return MigrationStatus(**values)


# --- the rule for migrations --------------------------------------------------------------------


def test_a_later_stamp_wins_between_unfinished_migrations():
    assert migration_is_newer(
        _migration(progress_percentage=50, updated_at=T + timedelta(seconds=1)), _migration()
    )
    assert not migration_is_newer(
        _migration(progress_percentage=30, updated_at=T - timedelta(seconds=1)), _migration()
    )


def test_the_same_migration_version_again_is_no_change():
    assert not migration_is_newer(_migration(), _migration())
    done = _migration(status="completed", phase="completed", progress_percentage=100)
    assert not migration_is_newer(done, done)


def test_a_finished_migration_never_reopens_even_when_stamped_later():
    for finished in ("completed", "failed", "cancelled"):
        cached = _migration(status=finished)
        assert not migration_is_newer(_migration(updated_at=T + timedelta(minutes=5)), cached)
        assert not migration_is_newer(
            _migration(status="pending", updated_at=T + timedelta(minutes=5)), cached
        )


def test_a_finished_answer_beats_an_unfinished_row_whatever_the_stamps():
    assert migration_is_newer(_migration(status="failed", updated_at=T - timedelta(minutes=5)), _migration())
    assert migration_is_newer(_migration(status="cancelled", updated_at=None), _migration())


def test_a_finished_row_takes_only_a_later_finished_answer():
    cached = _migration(status="completed", phase="completed", progress_percentage=100)
    assert migration_is_newer(replace(cached, updated_at=T + timedelta(seconds=1)), cached)
    assert not migration_is_newer(replace(cached, updated_at=None), cached)
    assert not migration_is_newer(replace(cached, updated_at=T - timedelta(seconds=1)), cached)


@pytest.mark.parametrize(
    "ahead, behind",
    [
        (
            {"status": "in_progress", "phase": "pre_check", "progress_percentage": 0},
            {"status": "pending", "phase": "pre_check"},
        ),
        (
            {"phase": "memory_precopy", "progress_percentage": 70},
            {"phase": "data_sync", "progress_percentage": 70},
        ),
        ({"phase": "switchover"}, {"phase": "memory_precopy", "progress_percentage": 90}),
        (
            {"migration_type": "cold", "phase": "boot"},
            {"migration_type": "cold", "phase": "data_sync", "progress_percentage": 90},
        ),
        (
            {"migration_type": "cold", "phase": "data_sync"},
            {"migration_type": "cold", "phase": "shutdown", "progress_percentage": 90},
        ),
        ({"progress_percentage": 41}, {"progress_percentage": 40}),
        ({"bytes_transferred": 401}, {"bytes_transferred": 400}),
    ],
    ids=[
        "status",
        "live-phase",
        "live-phase-over-progress",
        "cold-phase",
        "cold-shutdown-first",
        "progress",
        "bytes",
    ],
)
@pytest.mark.parametrize("stamps", ["equal", "incoming-unstamped", "cached-unstamped"])
def test_without_a_stamp_to_tell_them_apart_the_lifecycle_decides(ahead, behind, stamps):
    incoming_at = None if stamps == "incoming-unstamped" else T
    cached_at = None if stamps == "cached-unstamped" else T
    assert migration_is_newer(
        _migration(**ahead, updated_at=incoming_at), _migration(**behind, updated_at=cached_at)
    )
    assert not migration_is_newer(
        _migration(**behind, updated_at=incoming_at), _migration(**ahead, updated_at=cached_at)
    )


# --- the rule for VMs ---------------------------------------------------------------------------

RUNNING = {"status": "running", "cluster": "cl-a"}
STOPPED = {"status": "stopped", "cluster": "cl-a"}


def test_a_later_vm_stamp_wins_and_an_older_one_never_does():
    assert vm_is_newer(VMVersion(T + timedelta(seconds=1), content=STOPPED), VMVersion(T, content=RUNNING))
    assert not vm_is_newer(
        VMVersion(T - timedelta(seconds=1), content=STOPPED), VMVersion(T, content=RUNNING)
    )


def test_at_an_equal_stamp_novacrons_word_replaces_a_different_row_and_the_same_word_changes_nothing():
    # The portal's vm_stop answer and the vm.stopped event after it carry one stamp and say the same.
    assert not vm_is_newer(VMVersion(T, content=STOPPED), VMVersion(T, content=STOPPED))
    # The row held what the portal derived (the VM following its migration): NovaCron's word wins.
    assert vm_is_newer(VMVersion(T, content=STOPPED), VMVersion(T, content=RUNNING))


def test_a_state_the_portal_derived_never_wins_a_tie():
    assert not vm_is_newer(VMVersion(T), VMVersion(T, content=RUNNING))
    assert vm_is_newer(VMVersion(T + timedelta(seconds=1)), VMVersion(T, content=RUNNING))


def test_an_unstamped_vm_answer_is_taken_when_it_says_something_else():
    assert vm_is_newer(VMVersion(None, content=STOPPED), VMVersion(T, content=RUNNING))
    assert not vm_is_newer(VMVersion(None, content=RUNNING), VMVersion(T, content=RUNNING))


def test_a_tombstone_removes_the_vm_unless_the_row_is_stamped_later():
    assert vm_is_newer(VMVersion(T, deleted=True), VMVersion(T, content=RUNNING))
    assert vm_is_newer(VMVersion(None, deleted=True), VMVersion(T, content=RUNNING))
    assert not vm_is_newer(VMVersion(T, deleted=True), VMVersion(T + timedelta(seconds=1), content=RUNNING))


def test_a_deleted_vm_is_never_revived_by_an_older_equal_or_unstamped_event():
    tombstone = VMVersion(T, deleted=True)
    assert not vm_is_newer(VMVersion(T - timedelta(seconds=1), content=RUNNING), tombstone)
    assert not vm_is_newer(VMVersion(T, content=RUNNING), tombstone)
    assert not vm_is_newer(VMVersion(None, content=RUNNING), tombstone)
    assert not vm_is_newer(VMVersion(T + timedelta(seconds=1), deleted=True), tombstone)
    # Only a later life of the same id (a reset sandbox reusing it) shows again.
    assert vm_is_newer(VMVersion(T + timedelta(seconds=1), content=RUNNING), tombstone)


# --- real recorded sequences, in any order, duplicated, partly lost ------------------------------


@contextmanager
def _rolled_back() -> Iterator[None]:
    """One hypothesis example: everything it wrote is undone before the next (the db fixture spans them all)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _deliveries(recorded: list[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Every event at least once plus redeliveries, in any order; or some lost, the final one arriving."""
    everything = st.lists(st.sampled_from(recorded), max_size=6).flatmap(
        lambda extra: st.permutations([*recorded, *extra])
    )
    lossy = st.lists(st.sampled_from(recorded), max_size=len(recorded)).flatmap(
        lambda some: st.permutations([*some, recorded[-1]])
    )
    return st.one_of(everything, lossy)


def _deliver(partner: Any, payload: dict[str, Any], occurrence: int) -> None:
    """Through the receiver's store and the worker's processing; a repeat is a new event with the same data."""
    payload = {**payload, "event_id": f"{payload['event_id']}-{occurrence}"} if occurrence else payload
    receipt = webhook_event_store(partner=partner, payload=payload)
    webhook_event_process(event_pk=receipt.event.pk)


def _deliver_all(partner: Any, sequence: list[dict[str, Any]]) -> None:
    occurrences: dict[str, int] = {}
    for payload in sequence:
        occurrence = occurrences.get(payload["event_id"], 0)
        occurrences[payload["event_id"]] = occurrence + 1
        _deliver(partner, payload, occurrence)


def _seed_vm_and_clusters(partner: Any, recorded: dict[str, Any]) -> None:
    from novacron.models import Cluster as ApiCluster

    store_clusters(partner=partner, clusters=[ApiCluster.from_dict(c) for c in RECORDING["clusters"]])
    store_vm(partner=partner, vm=recorded["vm_before"])


def _assert_migration_as_novacron_ended_it(final: dict[str, Any]) -> None:
    migration = Migration.objects.get(migration_id=final["migration_id"])
    expected = MigrationStatus.from_dict(final)
    # migration.completed's data says `success`, which the cache keeps as the object's `completed`.
    assert expected.status in ("success", "failed", "cancelled")
    assert (migration.status, migration.phase) == (
        "completed" if expected.status == "success" else expected.status,
        expected.phase,
    )
    assert migration.progress_percentage == expected.progress_percentage
    assert (migration.bytes_transferred, migration.bytes_total) == (
        expected.bytes_transferred,
        expected.bytes_total,
    )
    assert (migration.updated_at, migration.finished_at) == (expected.updated_at, expected.finished_at)


def _progress_shown(migration_id: str) -> tuple[bool, int, float, int]:
    migration = Migration.objects.get(migration_id=migration_id)
    phase = MIGRATION_PHASES[migration.migration_type].index(migration.phase)
    return (not migration.is_active, phase, migration.progress_percentage, migration.bytes_transferred)


MIGRATION_EVENTS = {
    kind: [e for e in RECORDING[kind]["events"] if e["event_type"].startswith("migration.")]
    for kind in ("live_migration", "cold_migration")
}
# The whole recording: a cold migration's end also restarts the VM on the target (vm.started, same stamp).
RECORDED = {kind: RECORDING[kind]["events"] for kind in ("live_migration", "cold_migration")}


# Function-scoped fixtures are safe here: every example rolls back to a savepoint of its own.
EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Each of these examples runs ~20 events through the worker's processing: fewer, per migration type.
MIGRATION_EXAMPLES = settings(EXAMPLES, max_examples=40)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["live_migration", "cold_migration"])
@MIGRATION_EXAMPLES
@given(data=st.data())
def test_any_order_of_a_recorded_migration_ends_as_novacron_ended_it(partner, kind, data):
    recorded = RECORDED[kind]
    sequence = data.draw(_deliveries(recorded))
    with _rolled_back():
        _seed_vm_and_clusters(partner, RECORDING[kind])
        _deliver_all(partner, sequence)

        final = MIGRATION_EVENTS[kind][-1]["data"]
        _assert_migration_as_novacron_ended_it(final)
        vm = VM.objects.get(vm_id=final["source_vm_id"])
        assert (vm.status, vm.cluster, vm.region) == ("running", "cl-aws-usw2-a", "us-west-2")


@pytest.mark.django_db
@EXAMPLES
@given(data=st.data())
def test_webhooks_polls_and_sync_pages_share_the_rule(partner, data):
    """The recorded migration arriving through every write path at once never moves backwards."""
    recorded = MIGRATION_EVENTS["live_migration"]
    sequence = data.draw(_deliveries(recorded))
    paths = data.draw(
        st.lists(st.sampled_from(["webhook", "poll", "sync"]), min_size=len(sequence), max_size=len(sequence))
    )
    final = recorded[-1]
    with _rolled_back():
        _seed_vm_and_clusters(partner, RECORDING["live_migration"])
        occurrences: dict[str, int] = {}
        last_shown: tuple[bool, int, float, int] = (False, -1, 0.0, 0)
        for payload, path in zip(sequence, paths, strict=True):
            occurrence = occurrences.get(payload["event_id"], 0)
            occurrences[payload["event_id"]] = occurrence + 1
            answer = MigrationStatus.from_dict(payload["data"])
            if path == "webhook":
                _deliver(partner, payload, occurrence)
            elif path == "poll":  # also what the portal's own start and cancel write
                store_migration(partner=partner, migration=answer)
            else:
                store_migrations(partner=partner, migrations=[answer])
            # Never backwards, not even for a moment: what the panel shows only moves forward.
            shown = _progress_shown(answer.migration_id)
            assert shown >= last_shown
            last_shown = shown

        _assert_migration_as_novacron_ended_it(final["data"])


VM_EVENTS = RECORDING["vm_lifecycle"]["events"]
VM_ALIVE = [e for e in VM_EVENTS if e["event_type"] != "vm.deleted"]


@pytest.mark.django_db
@EXAMPLES
@given(data=st.data())
def test_any_order_of_a_recorded_vm_lifecycle_ends_in_its_last_state(partner, data):
    """Webhooks, the portal's own answers (vm_create/start/stop) and sync pages, mixed, out of order."""
    sequence = data.draw(_deliveries(VM_ALIVE))
    paths = data.draw(
        st.lists(
            st.sampled_from(["webhook", "portal", "sync"]), min_size=len(sequence), max_size=len(sequence)
        )
    )
    with _rolled_back():
        occurrences: dict[str, int] = {}
        for payload, path in zip(sequence, paths, strict=True):
            occurrence = occurrences.get(payload["event_id"], 0)
            occurrences[payload["event_id"]] = occurrence + 1
            if path == "webhook":
                _deliver(partner, payload, occurrence)
            elif path == "portal":
                vm_cache_store(partner=partner, vm=ApiVM.from_dict(payload["data"]))
            else:
                store_vms(partner=partner, vms=[ApiVM.from_dict(payload["data"])])

        final = ApiVM.from_dict(VM_ALIVE[-1]["data"])
        vm = VM.objects.get(vm_id=final.vm_id)
        assert (vm.status, vm.updated_at, vm.cluster, vm.tags) == (
            final.status,
            final.updated_at,
            final.cluster,
            final.tags,
        )


@pytest.mark.django_db
@EXAMPLES
@given(data=st.data())
def test_a_deleted_vm_stays_deleted_whatever_arrives_around_its_tombstone(partner, data):
    sequence = data.draw(
        st.permutations(VM_EVENTS).flatmap(
            lambda order: st.lists(st.sampled_from(VM_ALIVE), max_size=6).map(lambda late: [*order, *late])
        )
    )
    with _rolled_back():
        _deliver_all(partner, sequence)

        assert not VM.objects.filter(vm_id=VM_EVENTS[-1]["data"]["vm_id"]).exists()


@pytest.mark.django_db
def test_a_vm_the_portal_deleted_is_not_brought_back_by_an_older_sync_page(partner):
    from tests.fakes import vm_payload
    from vms.cache import forget_vm

    page = [as_api_vm(vm_payload(1))]
    store_vms(partner=partner, vms=page)
    forget_vm(partner=partner, vm_id=page[0].vm_id)  # the portal's delete: 204, no body

    store_vms(partner=partner, vms=page)  # a sync page read before the deletion
    store_vm(partner=partner, vm=page[0])  # and a late event of the same version

    assert not VM.objects.filter(partner=partner, vm_id=page[0].vm_id).exists()


@pytest.mark.django_db
def test_a_sync_tombstone_keeps_an_older_event_from_reviving_a_vm_it_never_cached(partner):
    from tests.fakes import vm_payload

    alive = as_api_vm(vm_payload(2))
    tombstone = replace(alive, status=VM.Status.DELETED, updated_at=alive.updated_at + timedelta(minutes=1))
    store_vms(partner=partner, vms=[tombstone])

    store_vm(partner=partner, vm=alive)

    assert not VM.objects.filter(partner=partner, vm_id=alive.vm_id).exists()
