"""`idempotency_key=` on every POST: the caller's key goes out on every attempt; without it, a fresh key per call."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from novacron import Client, Metric
from sdk_support import API, PARTNER, error_body

PARTNER_API = f"{API}/partners/{PARTNER}"

# (method name, URL it posts to, the call without the key, a body the mock answers with)
POST_CALLS: list[tuple[str, str, Callable[..., Any], dict[str, Any]]] = [
    ("check_quota", f"{PARTNER_API}/quotas/check", lambda c, **k: c.check_quota("vm-create", 1, **k),
     {"allowed": True}),
    ("create_integration", f"{PARTNER_API}/integrations",
     lambda c, **k: c.create_integration({"name": "n", "type": "api"}, **k), {"integration_id": "int-1"}),
    ("create_vm", f"{API}/vms", lambda c, **k: c.create_vm({"name": "web"}, **k), {"vm_id": "vm-1"}),
    ("start_vm", f"{API}/vms/vm-1/start", lambda c, **k: c.start_vm("vm-1", **k), {"vm_id": "vm-1"}),
    ("stop_vm", f"{API}/vms/vm-1/stop", lambda c, **k: c.stop_vm("vm-1", **k), {"vm_id": "vm-1"}),
    ("start_migration", f"{API}/migrations",
     lambda c, **k: c.start_migration({"source_vm_id": "vm-1", "target_cluster": "cl-2"}, **k),
     {"migration_id": "mig-1"}),
    ("cancel_migration", f"{API}/migrations/mig-1/cancel", lambda c, **k: c.cancel_migration("mig-1", **k),
     {"migration_id": "mig-1"}),
    ("send_metric", f"{API}/metrics", lambda c, **k: c.send_metric(Metric(name="m", value=1.0), **k),
     {"name": "m", "value": 1.0}),
    ("subscribe_webhook", f"{PARTNER_API}/webhooks",
     lambda c, **k: c.subscribe_webhook(["vm.created"], "https://x.example/h", "s" * 16, **k),
     {"subscription_id": "wh-1"}),
    ("send_test_event", f"{PARTNER_API}/webhooks/wh-1/test", lambda c, **k: c.send_test_event("wh-1", **k),
     {"delivery_id": "dl-1"}),
    ("redeliver", f"{PARTNER_API}/webhooks/wh-1/deliveries/dl-1/redeliver",
     lambda c, **k: c.redeliver("wh-1", "dl-1", **k), {"delivery_id": "dl-2"}),
]  # fmt: skip


def test_every_post_method_of_the_client_is_covered_here() -> None:
    source = inspect.getsource(Client)
    posting = {
        name
        for name, member in inspect.getmembers(Client, inspect.isfunction)
        if not name.startswith("_") and '"POST"' in inspect.getsource(member)
    }
    assert '"POST"' in source
    assert posting == {name for name, *_ in POST_CALLS}
    for name in posting:
        assert "idempotency_key" in inspect.signature(getattr(Client, name)).parameters, name


@pytest.mark.parametrize(("name", "url", "call", "answer"), POST_CALLS, ids=[c[0] for c in POST_CALLS])
def test_a_callers_key_is_sent_on_every_attempt(
    client: Client, api: responses.RequestsMock, name: str, url: str, call: Callable[..., Any],
    answer: dict[str, Any],
) -> None:  # fmt: skip
    api.post(url, status=503, json=error_body("unavailable"))
    api.post(url, body=requests.ConnectionError("reset by peer"))
    api.post(url, status=200, json=answer)

    call(client, idempotency_key=f"form-{name}-0001")

    assert [c.request.headers["Idempotency-Key"] for c in api.calls] == [f"form-{name}-0001"] * 3


@pytest.mark.parametrize(("name", "url", "call", "answer"), POST_CALLS, ids=[c[0] for c in POST_CALLS])
def test_without_a_key_each_call_gets_a_fresh_one(
    client: Client, api: responses.RequestsMock, name: str, url: str, call: Callable[..., Any],
    answer: dict[str, Any],
) -> None:  # fmt: skip
    api.post(url, status=200, json=answer)
    api.post(url, status=200, json=answer)

    call(client)
    call(client)

    first, second = (c.request.headers["Idempotency-Key"] for c in api.calls)
    assert first and second and first != second
