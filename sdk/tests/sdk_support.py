"""Plain helpers shared by the SDK tests (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

from novacron import Client, SDKConfig

BASE_URL = "http://novacron.test"
API = f"{BASE_URL}/api/v1"
PARTNER = "partner-acme"
API_KEY = "key_test_123"
API_SECRET = "secret_test_456"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakeClock:
    """Wall and monotonic time in one; `sleep` advances it and remembers each wait."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(clock: FakeClock, **settings: Any) -> Client:
    config = SDKConfig(
        base_url=BASE_URL, partner_id=PARTNER, api_key=API_KEY, api_secret=API_SECRET, **settings
    )
    return Client(config, clock=clock.time, monotonic=clock.time, sleep=clock.sleep, jitter=lambda: 1.0)


def rate_headers(remaining: int = 99, limit: int = 100, reset: float = START + 60) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int(reset)),
        "X-Request-ID": "req_test",
    }


def error_body(code: str, message: str = "nope", **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}, "request_id": "req_err"}


def page_body(
    items: list[dict[str, Any]],
    page: int = 1,
    limit: int = 50,
    total: int | None = None,
    has_more: bool = False,
) -> dict[str, Any]:
    return {
        "data": items,
        "page": page,
        "limit": limit,
        "total": len(items) if total is None else total,
        "has_more": has_more,
    }


VM_JSON: dict[str, Any] = {
    "vm_id": "vm-1",
    "partner_id": PARTNER,
    "name": "web-server-01",
    "status": "running",
    "template": "ubuntu-22.04",
    "cpu_cores": 4,
    "memory_gb": 16,
    "disk_size_gb": 100,
    "network_id": "net-12345",
    "cloud_provider": "aws",
    "region": "us-east-1",
    "cluster": "cluster-1",
    "ip_address": "10.0.0.4",
    "tags": {"app": "web", "env": "prod"},
    "created_at": "2026-01-15T10:30:00Z",
    "updated_at": "2026-01-15T10:31:00+00:00",
    "deleted_at": None,
}

MIGRATION_JSON: dict[str, Any] = {
    "migration_id": "mig-789",
    "partner_id": PARTNER,
    "source_vm_id": "vm-1",
    "source_cluster": "cluster-1",
    "target_cluster": "cluster-456",
    "migration_type": "live",
    "status": "in_progress",
    "phase": "memory_precopy",
    "progress_percentage": 67,
    "bytes_transferred": 45678901234,
    "bytes_total": 68000000000,
    "estimated_completion": "2026-01-15T10:30:00Z",
    "started_at": "2026-01-15T10:00:00Z",
    "finished_at": None,
    "error": None,
    "options": {"verify_after_migration": True},
    "metrics": {
        "transfer_rate_mbps": 850,
        "source_vm_load": 0.15,
        "target_vm_load": 0.12,
        "dirty_rate_mbps": 12.5,
        "iteration": 3,
        "downtime_ms": None,
    },
    "created_at": "2026-01-15T10:00:00Z",
    "updated_at": "2026-01-15T10:05:00Z",
}
