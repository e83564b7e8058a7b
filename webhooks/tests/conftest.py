from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.partner_api import admin_client, api
from tests.webhook_payloads import signed

__all__ = ["admin_client", "api"]  # the webhook pages' fixtures, shared with the integration pages

SECRET = "whsec_acme_test_secret_0123456789"


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ids handed to the processing task (instead of a broker)."""
    calls: list[int] = []
    from webhooks import views

    monkeypatch.setattr(views.process_webhook_event, "delay", lambda pk: calls.append(pk))
    return calls


@pytest.fixture
def deliver(partner: Any, django_capture_on_commit_callbacks: Any, enqueued: list[int]) -> Callable[..., Any]:
    """POST a payload to the partner's receiver, signed with `secret` (or a given signature)."""

    def _deliver(
        payload: dict[str, Any] | bytes,
        *,
        secret: str = SECRET,
        signature: str | None = None,
        partner_id: str = "partner-acme",
        sign: bool = True,
        **extra: Any,
    ) -> Any:
        body, good_signature = signed(payload, secret)
        headers = dict(extra)
        if sign:
            headers["HTTP_X_WEBHOOK_SIGNATURE"] = signature if signature is not None else good_signature
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post(
                f"/webhooks/novacron/{partner_id}/", data=body, content_type="application/json", **headers
            )

    return _deliver


@pytest.fixture(autouse=True)
def log_refreshes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """Delivery-log refreshes queued (partner pk, countdown), kept off the broker; the throttle starts empty."""
    from django.core.cache import cache, caches

    from webhooks import tasks
    from webhooks.throttle import CACHE_ALIAS

    cache.clear()
    caches[CACHE_ALIAS].clear()
    calls: list[tuple[int, float]] = []
    monkeypatch.setattr(
        tasks.publish_webhook_log, "apply_async", lambda args, countdown: calls.append((args[0], countdown))
    )
    return calls


@pytest.fixture(autouse=True)
def quota_refreshes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """Quota refreshes queued (partner pk, countdown), kept off the broker and off NovaCron."""
    from vms import tasks

    calls: list[tuple[int, float]] = []
    monkeypatch.setattr(
        tasks.refresh_quotas, "apply_async", lambda args, countdown: calls.append((args[0], countdown))
    )
    return calls
