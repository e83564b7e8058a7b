"""NovaCron answered by `responses` for the partner administration pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

API = "http://127.0.0.1:8001/api/v1"
PARTNER_API = f"{API}/partners/partner-acme"
STAMP = "2026-01-15T10:30:00Z"


@pytest.fixture
def api(settings: Any) -> Iterator[responses.RequestsMock]:
    """Every NovaCron call must be registered; an unregistered one fails the test (no API call)."""
    settings.NOVACRON_API_URL = "http://127.0.0.1:8001"
    settings.WEBHOOK_RECEIVER_URL = "http://testserver/webhooks/novacron/{partner_id}/"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def admin_client(owner: Any, grant: Callable[..., Any], client_of: Callable[[Any], Any]) -> Any:
    """The partner's admin, who granted `partner:admin`."""
    grant(owner, "openid profile email vm:read partner:admin")
    return client_of(owner)


def page(data: list[dict[str, Any]], *, has_more: bool = False) -> dict[str, Any]:
    return {"data": data, "page": 1, "limit": 50, "total": len(data), "has_more": has_more}


def integration_json(**overrides: Any) -> dict[str, Any]:
    body = {
        "integration_id": "int-1",
        "partner_id": "partner-acme",
        "name": "VM Backup Integration",
        "type": "api",
        "status": "active",
        "config": {"backup_schedule": "0 2 * * *", "retention_days": 30},
        "endpoints": [
            {
                "name": "backup-webhook",
                "url": "https://backup.acme.example/webhook",
                "method": "POST",
                "auth_type": "bearer",
                "timeout_seconds": 30,
            }
        ],
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    body.update(overrides)
    return body


def subscription_json(**overrides: Any) -> dict[str, Any]:
    body = {
        "subscription_id": "whs-1",
        "partner_id": "partner-acme",
        "url": "https://hooks.acme.example/novacron",
        "events": ["vm.created", "migration.completed"],
        "status": "active",
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    body.update(overrides)
    return body


def delivery_json(**overrides: Any) -> dict[str, Any]:
    body = {
        "delivery_id": "dlv-1",
        "subscription_id": "whs-1",
        "event_id": "evt_test_1",
        "event_type": "vm.created",
        "status": "retrying",
        "attempts_count": 2,
        "next_attempt_at": "2026-01-15T10:31:00Z",
        "created_at": STAMP,
        "attempts": [
            {
                "attempt": 1,
                "at": STAMP,
                "response_status": 500,
                "latency_ms": 42.0,
                "response_excerpt": "boom",
                "error": None,
            },
            {
                "attempt": 2,
                "at": "2026-01-15T10:30:05Z",
                "response_status": None,
                "latency_ms": None,
                "response_excerpt": None,
                "error": "connection refused",
            },
        ],
    }
    body.update(overrides)
    return body


def error_json(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}, "request_id": "req_test"}
