"""Recorded sandbox webhooks checked against the schema docs/partner-api.md documents, and the extension
event `migration.cancelled` applied to the cache.

The field lists are read from the document itself, so the page and the payloads cannot drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from novacron.models import EVENT_TYPES

from tests.webhook_payloads import event, migration_data
from vms.models import Migration
from webhooks.services import KNOWN_EVENTS, webhook_event_process, webhook_event_store
from webhooks.subscriptions import WEBHOOK_EVENT_TYPES

pytestmark = pytest.mark.django_db  # the app's autouse fixtures touch the database

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "partner-api.md").read_text()
RECORDING = json.loads((ROOT / "vms" / "tests" / "recordings" / "sandbox_events.json").read_text())
EVENTS = [
    e for kind in ("live_migration", "cold_migration", "vm_lifecycle") for e in RECORDING[kind]["events"]
]


def _documented_fields(name: str) -> tuple[set[str], dict[str, set[str]]]:
    """`Name: `{a, b (notes), c: {x, y}}`` in the document: its fields, and those of nested objects."""
    match = re.search(rf"^{name}: `\{{(.*?)\}}`", DOC, re.S | re.M)
    assert match, f"{name} is not documented"
    text = re.sub(r"\([^()]*\)", "", " ".join(match.group(1).split()))  # notes in parentheses
    nested: dict[str, set[str]] = {}
    for inner_name, inner in re.findall(r"(\w+): \{([^{}]*)\}", text):
        nested[inner_name] = {f.strip() for f in inner.split(",") if f.strip()}
    text = re.sub(r": \{[^{}]*\}", "", text)
    return {f.strip() for f in text.split(",") if f.strip()}, nested


def _documented_phases(kind: str) -> list[str]:
    match = re.search(rf"{kind}: `([a-z_, ]+)`", DOC, re.I)
    assert match, f"{kind} phases are not documented"
    return [p.strip() for p in match.group(1).split(",")]


EVENT_FIELDS = {"event_id", "event_type", "timestamp", "partner_id", "data"}
MIGRATION_FIELDS, MIGRATION_NESTED = _documented_fields("Migration")
VM_FIELDS, _ = _documented_fields("VM")
# Added to a migration event's data (documented under "Event types and `data`").
MIGRATION_EVENT_EXTRAS = {"target_cluster_id", "duration_seconds"}


def test_the_document_is_read_as_expected() -> None:
    assert {"progress_percentage", "phase", "metrics", "bytes_total"} <= MIGRATION_FIELDS
    assert MIGRATION_NESTED["metrics"] >= {"source_vm_load", "target_vm_load", "transfer_rate_mbps"}
    assert {"vm_id", "tags", "deleted_at"} <= VM_FIELDS
    assert _documented_phases("Live phases")[1] == "data_sync"
    assert _documented_phases("cold")[2] == "data_sync"
    for event_type in EVENT_TYPES:
        assert f"`{event_type}`" in DOC


def test_every_recorded_payload_has_the_documented_fields() -> None:
    assert {e["event_type"] for e in EVENTS} >= {"migration.started", "migration.progress",
                                                 "migration.completed", "vm.created", "vm.deleted"}  # fmt: skip
    for payload in EVENTS:
        assert set(payload) == EVENT_FIELDS  # no `signature` in the body: it travels in a header
        assert payload["event_type"] in EVENT_TYPES and payload["event_id"].startswith("evt_")
        data = payload["data"]
        if payload["event_type"].startswith("vm."):
            assert set(data) == VM_FIELDS, payload["event_type"]
            continue
        assert MIGRATION_FIELDS <= set(data) <= MIGRATION_FIELDS | MIGRATION_EVENT_EXTRAS
        assert set(data["metrics"]) == MIGRATION_NESTED["metrics"]


def test_recorded_migration_figures_have_the_documented_types_and_words() -> None:
    phases = {"live": _documented_phases("Live phases"), "cold": _documented_phases("cold")}
    for kind in ("live", "cold"):
        events = [
            e for e in RECORDING[f"{kind}_migration"]["events"] if e["event_type"].startswith("migration.")
        ]
        seen: list[str] = []
        for payload in events:
            data = payload["data"]
            assert type(data["progress_percentage"]) is int and 0 <= data["progress_percentage"] <= 100
            assert 0.0 <= data["metrics"]["source_vm_load"] <= 1.0
            assert 0.0 <= data["metrics"]["target_vm_load"] <= 1.0
            assert data["phase"] in phases[kind]
            if not seen or seen[-1] != data["phase"]:
                seen.append(data["phase"])
        assert seen == phases[kind]
        completed = events[-1]
        assert completed["event_type"] == "migration.completed"
        assert completed["data"]["status"] == "success"
        assert type(completed["data"]["duration_seconds"]) is int


def test_a_cancelled_event_finishes_the_cached_migration(
    partner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert "migration.cancelled" in KNOWN_EVENTS and "migration.cancelled" in WEBHOOK_EVENT_TYPES

    def process(payload: dict[str, Any]) -> None:
        receipt = webhook_event_store(partner=partner, payload=payload)
        with django_capture_on_commit_callbacks(execute=True):
            webhook_event_process(event_pk=receipt.event.pk)

    process(event("migration.progress", migration_data(progress=30, updated=10)))
    process(event("migration.cancelled", migration_data(status="cancelled", progress=31, updated=20)))

    cached = Migration.objects.get(partner=partner, migration_id="mig-0001")
    assert (cached.status, cached.phase, cached.is_active) == ("cancelled", "data_sync", False)


def test_a_completed_event_saying_success_is_cached_as_completed(
    partner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = event(
        "migration.completed", migration_data(status="completed", phase="completed", progress=100)
    )
    assert payload["data"]["status"] == "success"
    receipt = webhook_event_store(partner=partner, payload=payload)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_process(event_pk=receipt.event.pk)

    cached = Migration.objects.get(partner=partner, migration_id="mig-0001")
    assert (cached.status, cached.progress_percentage) == (Migration.Status.COMPLETED, 100)
