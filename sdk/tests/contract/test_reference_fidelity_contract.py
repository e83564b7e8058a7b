"""The reference's names and types, end to end: the SDK against a running sandbox, events through a receiver.

Whole numbers where the reference has them (`progress_percentage` 67, `duration_seconds` 180), the phase
list with `data_sync`, loads as fractions (0.15), `migration.completed` saying `success`, and the
extension `migration.cancelled` beside the progress event of a cancellation.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from novacron import COLD_MIGRATION_PHASES, EVENT_TYPES, LIVE_MIGRATION_PHASES, Client, MigrationSpec
from novacron.webhooks import construct_event
from sandbox_process import Sandbox
from test_migration_contract import movable_vm
from test_webhook_contract import Receiver

pytestmark = pytest.mark.integration

SECRET = "fidelity-webhook-secret-0001"


@pytest.fixture
def subscribed(acme: Client, sandbox: Sandbox) -> Iterator[Receiver]:
    endpoint = Receiver(sandbox.receiver_port)
    subscription = acme.subscribe_webhook(list(EVENT_TYPES), endpoint.url, SECRET)
    yield endpoint
    acme.delete_webhook(subscription.subscription_id)
    endpoint.server.shutdown()
    endpoint.server.server_close()


def _events_of(
    receiver: Receiver, migration_id: str, until: str, seconds: float = 60
) -> list[dict[str, Any]]:
    """The raw payloads of one migration's events, in NovaCron's order (`updated_at`), through `until`.

    Deliveries run in parallel and may arrive out of order: after `until` arrives, the stragglers get
    a moment more.
    """
    deadline = time.monotonic() + seconds
    events: list[dict[str, Any]] = []
    settle: float | None = None
    while settle is None or time.monotonic() < settle:
        wait = (settle if settle is not None else deadline) - time.monotonic()
        try:
            headers, body = receiver.next_delivery(max(0.05, wait))
        except queue.Empty:
            if settle is None:
                raise
            break
        construct_event(body, headers, SECRET)  # signed as the contract says
        payload = json.loads(body)
        assert "signature" not in payload and headers["X-Webhook-Signature"]
        if payload["data"].get("migration_id") == migration_id:
            events.append(payload)
            if payload["event_type"] == until and settle is None:
                settle = time.monotonic() + 2.0
    # Stable sort: events of one moment (a cancellation's two) keep the order they were sent in.
    order = {"migration.started": 0, "migration.progress": 1}
    return sorted(events, key=lambda e: (e["data"]["updated_at"], order.get(e["event_type"], 2)))


def _assert_wire_types(data: dict[str, Any]) -> None:
    assert type(data["progress_percentage"]) is int and 0 <= data["progress_percentage"] <= 100
    if "duration_seconds" in data:
        assert type(data["duration_seconds"]) is int and data["duration_seconds"] >= 0
    for load in ("source_vm_load", "target_vm_load"):
        assert 0.0 <= data["metrics"][load] <= 1.0, (load, data["metrics"][load])
    assert type(data["bytes_transferred"]) is int and type(data["bytes_total"]) is int


def _phases(events: list[dict[str, Any]]) -> list[str]:
    phases: list[str] = []
    for event in events:
        if not phases or phases[-1] != event["data"]["phase"]:
            phases.append(event["data"]["phase"])
    return phases


@pytest.mark.parametrize(
    ("kind", "expected"), [("live", LIVE_MIGRATION_PHASES), ("cold", COLD_MIGRATION_PHASES)]
)
def test_a_migration_reports_the_references_phases_numbers_and_success(
    acme: Client, subscribed: Receiver, kind: str, expected: tuple[str, ...]
) -> None:
    vm, target = movable_vm(acme, acme.list_clusters())
    started = acme.start_migration(
        MigrationSpec(source_vm_id=vm.vm_id, target_cluster=target.cluster_id, migration_type=kind)
    )

    events = _events_of(subscribed, started.migration_id, until="migration.completed")

    assert expected[1] == "data_sync" or expected[2] == "data_sync"
    assert _phases(events) == list(expected)
    for event in events:
        _assert_wire_types(event["data"])
    completed = events[-1]["data"]
    assert completed["status"] == "success"
    assert completed["progress_percentage"] == 100 and completed["duration_seconds"] >= 0
    moving = [e["data"] for e in events if e["data"]["phase"] == "data_sync"]
    assert any(0 < m["metrics"]["source_vm_load"] <= 1.0 for m in moving)
    # The SDK reads the same object; GET says `completed`, as the reference's polling loop expects.
    status = acme.get_migration_status(started.migration_id)
    assert (status.status, status.phase, status.progress_percentage) == ("completed", "completed", 100)
    assert isinstance(status.progress_percentage, int)
    assert status.metrics.target_vm_load is not None and 0 < status.metrics.target_vm_load <= 1.0
    assert status.transferred_fraction == 1.0


def test_a_cancellation_sends_progress_and_the_cancelled_extension(
    acme: Client, subscribed: Receiver
) -> None:
    vm, target = movable_vm(acme, acme.list_clusters(), biggest=True)
    started = acme.start_migration(
        MigrationSpec(source_vm_id=vm.vm_id, target_cluster=target.cluster_id, migration_type="cold")
    )

    cancelled = acme.cancel_migration(started.migration_id)
    events = _events_of(subscribed, started.migration_id, until="migration.cancelled")

    assert cancelled.status == "cancelled" and isinstance(cancelled.progress_percentage, int)
    # Deliveries travel on their own, so an engine step's progress sent just before the cancel may arrive
    # between the two: what is checked is that both were sent, the extension not before the progress.
    last = events[-1]
    before = next(
        event
        for event in events
        if (event["event_type"], event["data"]["status"]) == ("migration.progress", "cancelled")
    )
    assert (last["event_type"], last["data"]["status"]) == ("migration.cancelled", "cancelled")
    assert before["timestamp"] <= last["timestamp"]
    assert last["data"]["phase"] == before["data"]["phase"] == cancelled.phase
    _assert_wire_types(last["data"])
    assert type(last["data"]["duration_seconds"]) is int


def test_a_progress_answer_has_whole_numbers_and_fraction_loads(acme: Client) -> None:
    vm, target = movable_vm(acme, acme.list_clusters(), biggest=True)
    started = acme.start_migration(
        MigrationSpec(source_vm_id=vm.vm_id, target_cluster=target.cluster_id, migration_type="live")
    )
    try:
        seen: list[Any] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = acme.get_migration_status(started.migration_id)
            seen.append(status)
            if status.phase == "data_sync" or status.is_finished:
                break
            time.sleep(0.05)
        for status in seen:
            assert isinstance(status.progress_percentage, int) and 0 <= status.progress_percentage < 100
            assert 0.0 <= (status.metrics.source_vm_load or 0.0) <= 1.0
            assert 0.0 <= (status.metrics.target_vm_load or 0.0) <= 1.0
        assert seen[-1].phase == "data_sync"
    finally:
        if not acme.get_migration_status(started.migration_id).is_finished:
            acme.cancel_migration(started.migration_id)
