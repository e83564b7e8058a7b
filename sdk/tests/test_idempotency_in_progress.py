"""A POST whose key's first request is still running (409, `in_progress`) waits and asks again:
once the first finishes, the server replays its answer. Any other 409 is the caller's to handle."""

from __future__ import annotations

import pytest
import responses
from novacron import Client, ConflictError
from sdk_support import API, error_body


def test_a_repeat_while_the_first_runs_is_retried_until_the_answer_is_replayed(
    client: Client, api: responses.RequestsMock
) -> None:
    busy = error_body("conflict", "still in progress", key="form-1", in_progress=True)
    api.post(f"{API}/vms", status=409, json=busy)
    api.post(f"{API}/vms", status=409, json=busy)
    api.post(f"{API}/vms", status=201, json={"vm_id": "vm-1"}, headers={"Idempotent-Replayed": "true"})

    vm = client.create_vm({"name": "web"}, idempotency_key="form-1")

    assert vm.vm_id == "vm-1"
    assert [c.request.headers["Idempotency-Key"] for c in api.calls] == ["form-1"] * 3


def test_a_key_reused_with_another_body_is_a_conflict_at_once(
    client: Client, api: responses.RequestsMock
) -> None:
    api.post(f"{API}/vms", status=409, json=error_body("conflict", "another request", key="form-1"))

    with pytest.raises(ConflictError):
        client.create_vm({"name": "web"}, idempotency_key="form-1")

    assert len(api.calls) == 1


def test_a_state_conflict_is_not_retried(client: Client, api: responses.RequestsMock) -> None:
    api.post(f"{API}/vms/vm-1/start", status=409, json=error_body("conflict", "VM is running"))

    with pytest.raises(ConflictError):
        client.start_vm("vm-1", idempotency_key="form-2")

    assert len(api.calls) == 1
