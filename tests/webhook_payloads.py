"""Webhook payloads shaped exactly as NovaCron sends them (docs/partner-api.md), signed like it signs."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from novacron.webhooks import sign_payload

BASE_TIME = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
_counter = itertools.count(1)


def at(seconds: float) -> str:
    return (BASE_TIME + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def vm_data(
    vm_id: str = "vm-0001", *, status: str = "running", updated: float = 0, **extra: Any
) -> dict[str, Any]:
    data = {
        "vm_id": vm_id,
        "partner_id": "partner-acme",
        "name": f"web-{vm_id[-4:]}",
        "status": status,
        "template": "ubuntu-24.04",
        "cpu_cores": 4,
        "memory_gb": 8,
        "disk_size_gb": 80,
        "network_id": "net-default",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "cluster": "cl-aws-use1-a",
        "ip_address": "10.0.0.12",
        "tags": {"env": "prod"},
        "created_at": at(-3600),
        "updated_at": at(updated),
        "deleted_at": None,
    }
    data.update(extra)
    return data


def migration_data(
    migration_id: str = "mig-0001",
    *,
    status: str = "in_progress",
    phase: str = "data_sync",
    progress: int = 10,
    updated: float = 0,
    migration_type: str = "live",
    transfer_rate: float | None = 800.0,
    dirty_rate: float | None = 50.0,
    **extra: Any,
) -> dict[str, Any]:
    total = 8 * 1024**3
    data = {
        "migration_id": migration_id,
        "partner_id": "partner-acme",
        "source_vm_id": "vm-0001",
        "source_cluster": "cl-aws-use1-a",
        "target_cluster": "cl-aws-usw2-a",
        "target_cluster_id": "cl-aws-usw2-a",
        "migration_type": migration_type,
        "status": status,
        "phase": phase,
        "progress_percentage": int(progress),
        "bytes_transferred": int(total * progress / 100),
        "bytes_total": total,
        "estimated_completion": at(updated + 120),
        "started_at": at(-10),
        "finished_at": at(updated) if status in ("completed", "failed", "cancelled") else None,
        "error": None,
        "options": {"verify_after_migration": True},
        "metrics": {
            "transfer_rate_mbps": transfer_rate,
            "source_vm_load": 0.35,
            "target_vm_load": 0.12,
            "dirty_rate_mbps": dirty_rate,
            "iteration": 2 if phase == "memory_precopy" else None,
            "downtime_ms": None,
        },
        "created_at": at(-11),
        "updated_at": at(updated),
    }
    if data["finished_at"] is not None:
        data["duration_seconds"] = round(updated + 10)
    data.update(extra)
    return data


def event(event_type: str, data: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    if event_type == "migration.completed" and data.get("status") == "completed":
        data = {**data, "status": "success"}  # the word of this event's data (the reference's payload)
    return {
        "event_id": event_id or f"evt_{next(_counter):06d}",
        "event_type": event_type,
        # When NovaCron sent it: now, since the receiver refuses events past WEBHOOK_MAX_EVENT_AGE_SECONDS.
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "partner_id": "partner-acme",
        "data": data,
    }


def signed(payload: dict[str, Any] | bytes, secret: str) -> tuple[bytes, str]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, sign_payload(body, secret)
