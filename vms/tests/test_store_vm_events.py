"""A run of webhook VM states written as one page (`store_vm_events`) leaves the cache, the tombstones
and the state intervals exactly as applying them one by one with `store_vm` does: shuffled,
duplicated, deleted and re-created VMs included."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from partners.models import Partner
from tests.webhook_payloads import vm_data
from vms.cache import store_vm, store_vm_events
from vms.models import VM, VMStateInterval, VMTombstone

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _states(seed: int) -> list[tuple[dict[str, Any], bool]]:
    """A shuffled burst over six VMs, each a timeline of starts, stops and resizes that may end in its
    deletion, with redeliveries."""
    rng = random.Random(seed)
    states: list[tuple[dict[str, Any], bool]] = []
    for n in range(6):
        vm_id, minute = f"vm-{n:04d}", rng.randrange(5)
        for _ in range(rng.randrange(2, 8)):
            minute += rng.randrange(1, 4)
            data = vm_data(vm_id, status=rng.choice(["running", "stopped"]), updated=minute * 60)
            data["cpu_cores"] = rng.choice([2, 4])
            states.append((data, False))
        if rng.random() < 0.4:
            states.append((vm_data(vm_id, updated=(minute + 1) * 60), True))
        elif rng.random() < 0.3:
            # A deletion older than the VM's last state (the id reused): outvoted, still remembered.
            states.append((vm_data(vm_id, updated=(minute - 1) * 60), True))
    states += [states[rng.randrange(len(states))] for _ in range(len(states) // 5)]  # redeliveries
    rng.shuffle(states)
    return states


def _snapshot(partner: Partner) -> tuple[list[Any], list[Any], list[Any]]:
    vms = list(
        VM.objects.filter(partner=partner)
        .order_by("vm_id")
        .values_list("vm_id", "status", "cpu_cores", "updated_at")
    )
    tombstones = list(
        VMTombstone.objects.filter(partner=partner).order_by("vm_id").values_list("vm_id", "updated_at")
    )
    intervals = list(
        VMStateInterval.objects.filter(partner=partner)
        .order_by("vm_id", "started_at")
        .values_list("vm_id", "started_at", "ended_at", "status", "cpu_cores")
    )
    return vms, tombstones, intervals


@pytest.mark.parametrize("seed", range(8))
def test_a_run_written_as_one_page_ends_as_the_same_events_one_by_one(seed: int) -> None:
    one_by_one = Partner.objects.create(partner_id="partner-one", name="One")
    as_page = Partner.objects.create(partner_id="partner-page", name="Page")
    states = _states(seed)
    half = len(states) // 2
    # Two runs, so the second meets rows, tombstones and open intervals the first left.
    for run in (states[:half], states[half:]):
        for data, deleted in run:
            store_vm(partner=one_by_one, vm=data, deleted=deleted, now=NOW)
        store_vm_events(partner=as_page, events=run, now=NOW)
    assert _snapshot(as_page) == _snapshot(one_by_one)
    assert _snapshot(as_page)[0], "the burst leaves some VMs standing"


def test_states_of_one_vm_in_a_run_leave_the_newest_standing() -> None:
    partner = Partner.objects.create(partner_id="partner-one", name="One")
    store_vm_events(
        partner=partner,
        events=[
            (vm_data("vm-0001", status="stopped", updated=120), False),
            (vm_data("vm-0001", status="running", updated=60), False),
            (vm_data("vm-0001", status="stopped", updated=120), False),
        ],
        now=NOW,
    )
    assert VM.objects.get(partner=partner).status == "stopped"
    # Both states it passed through are in its intervals, the late one included.
    statuses = VMStateInterval.objects.filter(partner=partner).order_by("started_at")
    assert list(statuses.values_list("status", flat=True)) == ["running", "stopped"]
