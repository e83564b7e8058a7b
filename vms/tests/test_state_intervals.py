"""VM state intervals: whatever order and however often the same states arrive, the same intervals."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.webhook_payloads import BASE_TIME, at, migration_data, vm_data
from vms.cache import as_api_vm, forget_vm, store_migration, store_vm, store_vms
from vms.models import VMStateInterval

pytestmark = pytest.mark.django_db


def _intervals(partner: Any, vm_id: str = "vm-0001") -> list[tuple[str, str | None, str, int, str]]:
    rows = VMStateInterval.objects.filter(partner=partner, vm_id=vm_id).order_by("started_at")
    return [
        (
            r.started_at.isoformat(),
            r.ended_at.isoformat() if r.ended_at else None,
            r.status,
            r.cpu_cores,
            r.cluster,
        )
        for r in rows
    ]


def _stamp(seconds: float) -> str:
    from datetime import timedelta

    return (BASE_TIME + timedelta(seconds=seconds)).isoformat()


LIFE = [
    vm_data(status="provisioning", updated=0),
    vm_data(status="running", updated=60),
    vm_data(status="stopped", updated=3600),
    vm_data(status="running", updated=7200, cpu_cores=8),
    vm_data(status="deleted", updated=9000),
]


def test_states_in_order_chain_into_intervals_ending_with_the_deletion(partner: Any) -> None:
    for data in LIFE:
        store_vm(partner=partner, vm=data, deleted=data["status"] == "deleted")

    assert _intervals(partner) == [
        (_stamp(0), _stamp(60), "provisioning", 4, "cl-aws-use1-a"),
        (_stamp(60), _stamp(3600), "running", 4, "cl-aws-use1-a"),
        (_stamp(3600), _stamp(7200), "stopped", 4, "cl-aws-use1-a"),
        (_stamp(7200), _stamp(9000), "running", 8, "cl-aws-use1-a"),
        (_stamp(9000), None, "deleted", 4, "cl-aws-use1-a"),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_shuffled_and_duplicated_states_give_the_same_intervals(
    partner: Any, other_partner: Any, seed: int
) -> None:
    for data in LIFE:
        store_vm(
            partner=other_partner,
            vm={**data, "partner_id": "partner-globex"},
            deleted=data["status"] == "deleted",
        )
    arrivals = LIFE * 2
    random.Random(seed).shuffle(arrivals)
    for data in arrivals:
        store_vm(partner=partner, vm=data, deleted=data["status"] == "deleted")

    assert _intervals(partner) == _intervals(other_partner)


def test_a_late_state_splits_the_interval_it_falls_in(partner: Any) -> None:
    store_vm(partner=partner, vm=vm_data(status="running", updated=0))
    store_vm(partner=partner, vm=vm_data(status="running", updated=7200, cpu_cores=2))
    # The stop at 1 h reaches the portal after the 2 h state: the cache keeps its newer row...
    store_vm(partner=partner, vm=vm_data(status="stopped", updated=3600))

    assert _intervals(partner) == [
        (_stamp(0), _stamp(3600), "running", 4, "cl-aws-use1-a"),
        (_stamp(3600), _stamp(7200), "stopped", 4, "cl-aws-use1-a"),
        (_stamp(7200), None, "running", 2, "cl-aws-use1-a"),
    ]


def test_a_state_stamped_after_the_deletion_is_ignored_and_an_earlier_deletion_truncates(
    partner: Any,
) -> None:
    store_vm(partner=partner, vm=vm_data(status="running", updated=0))
    forget_vm(partner=partner, vm_id="vm-0001")  # the portal's delete: no stamp, our clock
    store_vm(partner=partner, vm=vm_data(status="deleted", updated=600), deleted=True)
    store_vm(partner=partner, vm=vm_data(status="stopped", updated=900))

    rows = _intervals(partner)
    assert rows == [
        (_stamp(0), _stamp(600), "running", 4, "cl-aws-use1-a"),
        (_stamp(600), None, "deleted", 4, "cl-aws-use1-a"),
    ]


def test_a_sync_page_seeing_the_same_versions_again_writes_nothing(partner: Any) -> None:
    page = [as_api_vm(vm_data(f"vm-{n:04d}", updated=n)) for n in range(1, 50)]
    store_vms(partner=partner, vms=page)
    before = list(VMStateInterval.objects.values_list("pk", "recorded_at"))

    store_vms(partner=partner, vms=page)

    assert list(VMStateInterval.objects.values_list("pk", "recorded_at")) == before
    assert len(before) == 49


def test_a_migration_makes_the_vm_migrating_then_lands_it_on_the_target(partner: Any) -> None:
    store_vm(partner=partner, vm=vm_data(status="running", updated=0))
    created = {"created_at": at(100), "source_vm_id": "vm-0001", "target_cluster": "cl-gcp-euw1-a"}
    store_migration(partner=partner, migration=migration_data(status="in_progress", updated=160, **created))
    store_migration(
        partner=partner,
        migration=migration_data(
            status="completed", phase="completed", progress=100, updated=400, finished_at=at(400), **created
        ),
    )

    assert _intervals(partner) == [
        (_stamp(0), _stamp(100), "running", 4, "cl-aws-use1-a"),
        (_stamp(100), _stamp(400), "migrating", 4, "cl-aws-use1-a"),
        (_stamp(400), None, "running", 4, "cl-gcp-euw1-a"),
    ]


def test_a_derived_state_takes_its_size_from_a_vm_state_that_arrives_later(partner: Any) -> None:
    created = {"created_at": at(100), "source_vm_id": "vm-0001", "target_cluster": "cl-gcp-euw1-a"}
    store_vm(partner=partner, vm=vm_data(status="running", updated=0))
    store_migration(partner=partner, migration=migration_data(status="in_progress", updated=160, **created))
    # A resize stamped before the migration, heard of after it.
    store_vm(partner=partner, vm=vm_data(status="running", updated=50, cpu_cores=16))

    assert [(row[2], row[3]) for row in _intervals(partner)] == [
        ("running", 4),
        ("running", 16),
        ("migrating", 16),
    ]


@pytest.mark.parametrize("late", [False, True])
def test_a_stopped_vm_migrated_stays_stopped_on_its_target(partner: Any, late: bool) -> None:
    created = {
        "created_at": at(100),
        "source_vm_id": "vm-0001",
        "target_cluster": "cl-gcp-euw1-a",
        "migration_type": "cold",
    }
    done = migration_data(
        status="completed", phase="completed", progress=100, updated=400, finished_at=at(300), **created
    )
    store_vm(partner=partner, vm=vm_data(status="stopped", updated=0))
    if late:  # the VM's later start is heard of before the migration
        store_vm(partner=partner, vm=vm_data(status="running", updated=900, cluster="cl-gcp-euw1-a"))
    store_migration(partner=partner, migration=migration_data(status="in_progress", updated=160, **created))
    store_migration(partner=partner, migration=done)
    if not late:
        store_vm(partner=partner, vm=vm_data(status="running", updated=900, cluster="cl-gcp-euw1-a"))

    assert [(row[2], row[4]) for row in _intervals(partner)] == [
        ("stopped", "cl-aws-use1-a"),
        ("migrating", "cl-aws-use1-a"),
        ("stopped", "cl-gcp-euw1-a"),
        ("running", "cl-gcp-euw1-a"),
    ]
