"""Fixtures shared by every test suite (portal, sandbox, SDK).

Imports of portal code stay inside fixtures: the sandbox's tests run under its own settings.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    """A test that tries to reach any host but this machine fails loudly."""
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise OSError(f"tests may not reach {host}: only 127.0.0.1 is allowed")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fresh_fleet_figures() -> None:
    """Each test starts without the figures an earlier one left in this process's memory
    (vms/fleet_version.py): its database is new, and so are its partners' fleets."""
    from django.conf import settings

    if settings.configured and "fleet_figures" in getattr(settings, "CACHES", {}):
        from django.core.cache import caches

        caches["fleet_figures"].clear()


# --- the portal's tenants: two partners and their people ------------------------------------


@pytest.fixture
def partner(db: None) -> Any:
    from partners.models import Partner

    return Partner.objects.create(
        partner_id="partner-acme",
        name="Acme Corp",
        tier="gold",
        type="technology",
        api_key="nck_acme_test",
        api_secret="acme-test-secret",
        webhook_secret="whsec_acme_test_secret_0123456789",
        quota_limits={"api_calls_per_minute": 1000, "vm_create_per_day": 1000, "migration_concurrent": 50},
    )


@pytest.fixture
def other_partner(db: None) -> Any:
    from partners.models import Partner

    return Partner.objects.create(
        partner_id="partner-globex",
        name="Globex",
        tier="silver",
        type="managed_service",
        api_key="nck_globex_test",
        api_secret="globex-test-secret",
        webhook_secret="whsec_globex_test_secret_0123456789",
    )


def _make_user(partner: Any, role: str, email: str) -> Any:
    from accounts.models import User

    return User.objects.create_user(
        username=email,
        email=email,
        full_name=email.split("@")[0].title(),
        partner=partner,
        role=role,
        novacron_sub=f"sub-{email}",
    )


@pytest.fixture
def owner(partner: Any) -> Any:
    """The partner's admin."""
    return _make_user(partner, "admin", "admin@acme.example")


@pytest.fixture
def operator(partner: Any) -> Any:
    return _make_user(partner, "operator", "operator@acme.example")


@pytest.fixture
def viewer(partner: Any) -> Any:
    return _make_user(partner, "viewer", "viewer@acme.example")


@pytest.fixture
def outsider(other_partner: Any) -> Any:
    """An admin of the other partner: sees none of Acme's data."""
    return _make_user(other_partner, "admin", "admin@globex.example")


@pytest.fixture
def grant(db: None) -> Callable[..., Any]:
    """Give a user NovaCron tokens with these scopes (for views whose API calls `responses` answers)."""
    from django.utils import timezone

    from accounts.models import OAuthToken

    def _grant(user: Any, scopes: str = "openid profile email vm:read", expires_in: int = 3600) -> Any:
        token, _ = OAuthToken.objects.update_or_create(
            user=user,
            defaults={
                "access_token": f"access-{user.pk}",
                "refresh_token": f"refresh-{user.pk}",
                "expires_at": timezone.now() + timedelta(seconds=expires_in),
                "scopes": scopes.split(),
            },
        )
        return token

    return _grant


@pytest.fixture
def client_of(db: None) -> Callable[[Any], Any]:
    """A Django test client signed in as the given user."""
    from django.test import Client

    def _client(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return _client


# --- what the configured log handler writes --------------------------------------------------


@pytest.fixture
def written_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The lines the portal's configured handler writes (settings.LOGGING), as parsed JSON objects.

    The real handler, with its real filters (request and task ids, scrubbing), is pointed at a buffer
    and given the JSON formatter (LOG_FORMAT=json) so lines can be read back; every logger's level
    drops to DEBUG, so nothing escapes the check by being below INFO.
    """
    import io
    import json
    import logging

    from lib.logs import JSONFormatter, ScrubFilter

    buffer = io.StringIO()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("uvicorn.access")]
    handlers = {
        h
        for lg in loggers
        for h in lg.handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, ScrubFilter) for f in h.filters)
    }
    assert handlers, "settings.LOGGING installed no scrubbing handler"
    saved = [(h, h.setStream(buffer), h.formatter) for h in handlers]
    levels = [(lg, lg.level) for lg in loggers]
    for handler in handlers:
        handler.setFormatter(JSONFormatter())
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    for handler, stream, formatter in saved:
        handler.setStream(stream)  # type: ignore[arg-type]
        handler.setFormatter(formatter)
    for lg, level in levels:
        lg.setLevel(level)
