"""A small in-memory NovaCron for unit tests: SDK-shaped payloads served through `responses`.

Integration tests use the real sandbox; these fakes keep sync and view tests fast and deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

API = "http://novacron.test"
ROOT = f"{API}/api/v1"
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def vm_payload(n: int, **overrides: Any) -> dict[str, Any]:
    created = T0 + timedelta(seconds=n)
    payload = {
        "vm_id": f"vm-{n:05d}",
        "partner_id": "partner-acme",
        "name": f"web-{n:05d}",
        "status": "running",
        "template": "ubuntu-22.04",
        "cpu_cores": 2 + n % 8,
        "memory_gb": 4 + n % 16,
        "disk_size_gb": 50,
        "network_id": "net-1",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "cluster": "cl-aws-use1-a",
        "ip_address": f"10.0.{n // 250}.{n % 250}",
        "tags": {"env": "prod"},
        "created_at": iso(created),
        "updated_at": iso(created),
        "deleted_at": None,
    }
    payload.update(overrides)
    return payload


def cluster_payload(cluster_id: str, cloud: str, region: str) -> dict[str, Any]:
    return {
        "cluster_id": cluster_id,
        "name": cluster_id.upper(),
        "cloud_provider": cloud,
        "region": region,
        "status": "active",
        "link_speed_mbps": 10000,
        "capacity": {"vcpus_total": 512, "vcpus_used": 100, "memory_gb_total": 2048, "memory_gb_used": 300},
    }


def migration_payload(migration_id: str, **overrides: Any) -> dict[str, Any]:
    payload = {
        "migration_id": migration_id,
        "partner_id": "partner-acme",
        "source_vm_id": "vm-00001",
        "source_cluster": "cl-aws-use1-a",
        "target_cluster": "cl-aws-use1-b",
        "migration_type": "live",
        "status": "in_progress",
        "phase": "data_sync",
        "progress_percentage": 30,
        "bytes_transferred": 300,
        "bytes_total": 1000,
        "estimated_completion": None,
        "started_at": iso(T0),
        "finished_at": None,
        "error": None,
        "options": {},
        "metrics": {"transfer_rate_mbps": 900.0},
        "created_at": iso(T0),
        "updated_at": iso(T0 + timedelta(seconds=30)),
    }
    payload.update(overrides)
    return payload


def error_body(code: str, message: str, **details: Any) -> str:
    return json.dumps(
        {"error": {"code": code, "message": message, "details": details}, "request_id": "req_test"}
    )


@dataclass
class FakeNovaCron:
    """Serves /vms, /clusters, /migrations, /partners/... from dicts, like the contract says."""

    vms: dict[str, dict[str, Any]] = field(default_factory=dict)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    migrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    quotas: list[dict[str, Any]] = field(default_factory=list)
    limit: int = 1000
    remaining: int = 1400
    # Answers to give instead of the real one, consumed in order: (status, body, headers).
    scripted: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    # Called before each /vms page is served, with the page number (to change data mid-run).
    on_vm_page: Callable[[int], None] | None = None
    requests: list[str] = field(default_factory=list)

    def add_vms(self, count: int, start: int = 1, **overrides: Any) -> None:
        for n in range(start, start + count):
            payload = vm_payload(n, **overrides)
            self.vms[payload["vm_id"]] = payload

    def install(self, mock: responses.RequestsMock) -> None:
        import re

        mock.add_callback(responses.GET, f"{ROOT}/vms", callback=self._list_vms)
        mock.add_callback(responses.GET, re.compile(rf"{ROOT}/vms/[^/]+$"), callback=self._get_vm)
        mock.add_callback(responses.GET, f"{ROOT}/clusters", callback=self._list_clusters)
        mock.add_callback(responses.GET, f"{ROOT}/migrations", callback=self._list_migrations)
        mock.add_callback(responses.GET, f"{ROOT}/partners/partner-acme", callback=self._partner)
        mock.add_callback(responses.GET, f"{ROOT}/partners/partner-acme/quotas", callback=self._quotas)

    # -- plumbing ----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(T0.timestamp()) + 60),
        }

    def _answer(self, request: Any, produce: Callable[[dict[str, list[str]]], Any]) -> tuple[int, dict, str]:
        self.requests.append(request.url)
        if self.scripted:
            status, body, headers = self.scripted.pop(0)
            return status, {**self._headers(), **headers}, body
        query = parse_qs(urlsplit(request.url).query)
        return 200, self._headers(), json.dumps(produce(query))

    def _list_vms(self, request: Any) -> tuple[int, dict, str]:
        def produce(query: dict[str, list[str]]) -> dict[str, Any]:
            page, limit = int(query.get("page", ["1"])[0]), int(query.get("limit", ["50"])[0])
            if self.on_vm_page:
                self.on_vm_page(page)
            items = list(self.vms.values())
            if "updated_since" in query:
                since = datetime.fromisoformat(query["updated_since"][0])
                items = sorted(
                    (v for v in items if datetime.fromisoformat(v["updated_at"]) >= since),
                    key=lambda v: (datetime.fromisoformat(v["updated_at"]), v["vm_id"]),
                )
            else:
                if query.get("include_deleted", ["false"])[0] != "true":
                    items = [v for v in items if v["status"] != "deleted"]
                items.sort(key=lambda v: (v["created_at"], v["vm_id"]))
            chunk = items[(page - 1) * limit : page * limit]
            return {
                "data": chunk,
                "page": page,
                "limit": limit,
                "total": len(items),
                "has_more": page * limit < len(items),
            }

        return self._answer(request, produce)

    def _get_vm(self, request: Any) -> tuple[int, dict, str]:
        vm_id = urlsplit(request.url).path.rsplit("/", 1)[1]
        if vm_id not in self.vms:
            self.requests.append(request.url)
            return 404, self._headers(), error_body("not_found", "no such VM")
        return self._answer(request, lambda query: self.vms[vm_id])

    def _list_clusters(self, request: Any) -> tuple[int, dict, str]:
        return self._answer(request, lambda query: {"data": self.clusters})

    def _list_migrations(self, request: Any) -> tuple[int, dict, str]:
        def produce(query: dict[str, list[str]]) -> dict[str, Any]:
            items = sorted(self.migrations.values(), key=lambda m: m["created_at"], reverse=True)
            if "status" in query:
                items = [m for m in items if m["status"] == query["status"][0]]
            page, limit = int(query.get("page", ["1"])[0]), int(query.get("limit", ["50"])[0])
            chunk = items[(page - 1) * limit : page * limit]
            return {
                "data": chunk,
                "page": page,
                "limit": limit,
                "total": len(items),
                "has_more": page * limit < len(items),
            }

        return self._answer(request, produce)

    def _partner(self, request: Any) -> tuple[int, dict, str]:
        return self._answer(
            request,
            lambda query: {
                "partner_id": "partner-acme",
                "name": "Acme Corporation",
                "type": "technology",
                "tier": "gold",
                "status": "active",
                "entitlements": ["live_migration"],
                "quota_limits": {
                    "api_calls_per_minute": 1000,
                    "vm_create_per_day": 200,
                    "migration_concurrent": 5,
                },
                "created_at": iso(T0),
            },
        )

    def _quotas(self, request: Any) -> tuple[int, dict, str]:
        return self._answer(request, lambda query: {"data": self.quotas})


class FakeClock:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
