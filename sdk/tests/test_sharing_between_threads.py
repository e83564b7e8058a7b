from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import responses
from novacron import Client
from sdk_support import API, VM_JSON


def test_one_client_serves_many_threads_each_getting_its_own_answer(
    client: Client, api: responses.RequestsMock
) -> None:
    def echo_vm(request: object) -> tuple[int, dict[str, str], str]:
        vm_id = request.path_url.rsplit("/", 1)[-1]  # type: ignore[attr-defined]
        return 200, {"Content-Type": "application/json"}, json.dumps({**VM_JSON, "vm_id": vm_id})

    api.add_callback(responses.GET, re.compile(rf"{API}/vms/vm-\d+"), callback=echo_vm)
    wanted = [f"vm-{n}" for n in range(200)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda vm_id: client.get_vm(vm_id).vm_id, wanted))

    assert got == wanted


def test_concurrent_posts_get_distinct_idempotency_keys(client: Client, api: responses.RequestsMock) -> None:
    api.add(responses.POST, re.compile(rf"{API}/vms/vm-\d+/stop"), json=VM_JSON)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: client.stop_vm(f"vm-{n}"), range(100)))

    keys = {call.request.headers["Idempotency-Key"] for call in api.calls}
    assert len(keys) == 100
