from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from novacron import VM, Client, ConflictError, NotFoundError, ValidationError, VMSpec

pytestmark = pytest.mark.integration


def wait_for(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {seconds}s")
        time.sleep(0.2)


def new_spec(name: str, **changes: object) -> VMSpec:
    fields = {
        "name": name,
        "template": "ubuntu-22.04",
        "cpu_cores": 2,
        "memory_gb": 4,
        "disk_size_gb": 20,
        "network_id": "net-contract",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "tags": {"suite": "sdk-contract", "env": "test"},
    }
    return VMSpec(**{**fields, **changes})  # type: ignore[arg-type]


def test_iter_vms_pages_through_every_vm_once(acme: Client) -> None:
    first = acme.list_vms(limit=200)

    ids = [vm.vm_id for vm in first.auto_paging_iter()]

    assert first.total >= 2000
    assert len(ids) == first.total
    assert len(set(ids)) == len(ids)


def test_list_vms_paginated_agrees_with_the_page_envelope(acme: Client) -> None:
    vms, has_more = acme.list_vms_paginated(2, 50)
    page = acme.list_vms(page=2, limit=50)

    assert [vm.vm_id for vm in vms] == [vm.vm_id for vm in page.data]
    assert has_more == page.has_more is True


def test_filters_narrow_the_list(acme: Client) -> None:
    running_prod = acme.list_vms(status="running", tags={"env": "prod"}, cloud_provider="aws", limit=100)

    assert running_prod.data
    assert all(
        vm.status == "running" and vm.tags.get("env") == "prod" and vm.cloud_provider == "aws"
        for vm in running_prod.data
    )
    assert running_prod.total < acme.list_vms(limit=1).total


def test_a_vm_lives_through_create_stop_start_and_delete(acme: Client) -> None:
    created = acme.create_vm(new_spec("sdk-contract-lifecycle"))
    assert created.status == "provisioning"
    assert created.created_at is not None and created.created_at.tzinfo is not None

    wait_for(lambda: acme.get_vm(created.vm_id).status == "running")
    assert acme.stop_vm(created.vm_id).status == "stopped"
    with pytest.raises(ConflictError):
        acme.stop_vm(created.vm_id)
    assert acme.start_vm(created.vm_id).status == "running"
    found = acme.list_vms(q="sdk-contract-lifecycle").data
    assert [vm.vm_id for vm in found] == [created.vm_id]

    acme.delete_vm(created.vm_id)

    assert created.vm_id not in {vm.vm_id for vm in acme.iter_vms(q="sdk-contract-lifecycle")}
    tombstones = acme.list_vms(q="sdk-contract-lifecycle", include_deleted=True).data
    assert [vm.is_deleted for vm in tombstones if vm.vm_id == created.vm_id] == [True]


def test_incremental_sync_sees_changes_and_tombstones(acme: Client) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    kept = acme.create_vm(new_spec("sdk-contract-sync-kept"))
    removed = acme.create_vm(new_spec("sdk-contract-sync-removed"))
    wait_for(lambda: acme.get_vm(removed.vm_id).status == "running")
    acme.delete_vm(removed.vm_id)

    changed: list[VM] = list(acme.iter_vms(updated_since=since, limit=100))

    by_id = {vm.vm_id: vm for vm in changed}
    assert not by_id[kept.vm_id].is_deleted
    assert by_id[removed.vm_id].is_deleted


def test_a_bad_spec_is_a_validation_error_with_fields(acme: Client) -> None:
    with pytest.raises(ValidationError) as caught:
        acme.create_vm(new_spec("sdk-contract-invalid", cpu_cores=0))

    assert "cpu_cores" in caught.value.fields


def test_an_unknown_vm_is_not_found(acme: Client) -> None:
    with pytest.raises(NotFoundError):
        acme.get_vm("vm-does-not-exist")


def test_clusters_are_listed_with_capacity(acme: Client) -> None:
    clusters = acme.list_clusters()

    assert len(clusters) >= 2
    assert all(c.capacity.vcpus_total >= c.capacity.vcpus_used for c in clusters)
