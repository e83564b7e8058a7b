"""Shared fixtures: two partners with HMAC credentials, clusters, VMs, and a signing client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from sandbox.api.auth import sign
from sandbox.core.models import VM, APICredential, Cluster, Partner
from sandbox.core.seed import CLUSTERS
from sandbox.core.tiers import default_quota_limits
from sandbox.engine import faults
from sandbox.engine.ratelimit import limiter
from sandbox.tests.oauth_fixtures import (  # noqa: F401  (OAuth/OIDC fixtures of sandbox.identity)
    acme_admin,
    acme_viewer,
    anonymous,
    demo_users,
    fast_hashing,
    globex_operator,
    oauth_partners,
    oauth_tokens_for,
    portal_client,
)


@pytest.fixture(autouse=True)
def _fresh_process_state(settings: Any) -> Iterator[None]:
    settings.SANDBOX_RATE_LIMIT_SCALE = 1.0
    settings.SANDBOX_TIME_SCALE = 10.0
    settings.SANDBOX_FAULTS = {}
    limiter.reset()
    faults.replace(None)
    yield
    limiter.reset()
    faults.replace(None)


class PartnerClient:
    """A Django test client that signs every request with a partner's HMAC credentials."""

    def __init__(self, credential: APICredential, *, partner_id: str | None = None, secret: str | None = None,
                 timestamp_offset: int = 0) -> None:  # fmt: skip
        self.credential = credential
        self.partner_id = partner_id or credential.partner_id
        self.secret = secret or credential.api_secret
        self.timestamp_offset = timestamp_offset
        self.client = Client()

    def headers(self, method: str, path: str) -> dict[str, str]:
        timestamp = str(int(time.time()) + self.timestamp_offset)
        return {
            "X-Partner-ID": self.partner_id,
            "X-API-Key": self.credential.api_key,
            "X-Timestamp": timestamp,
            "X-Signature": sign(self.secret, method, path.split("?")[0], timestamp),
        }

    def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                query: dict[str, Any] | None = None) -> Any:  # fmt: skip
        all_headers = {**self.headers(method, path), **(headers or {})}
        call = getattr(self.client, method.lower())
        if method in ("GET", "DELETE"):
            return call(path, query or {}, headers=all_headers)
        return call(
            path, body if body is not None else {}, content_type="application/json", headers=all_headers
        )

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


def make_partner(partner_id: str, name: str, tier: str) -> Partner:
    partner = Partner.objects.create(partner_id=partner_id, name=name, type="technology", tier=tier,
                                     entitlements=["vm_management"], quota_limits=default_quota_limits(tier))  # fmt: skip
    APICredential.objects.create(
        partner=partner, api_key=f"nck_test_{partner_id}", api_secret=f"secret-{partner_id}-0123456789"
    )
    return partner


@pytest.fixture
def clusters(db: None) -> list[Cluster]:
    return [
        Cluster.objects.create(
            cluster_id=cid,
            name=name,
            cloud_provider=cloud,
            region=region,
            link_speed_mbps=link,
            vcpus_total=1000,
            memory_gb_total=4000,
        )
        for cid, name, cloud, region, link in CLUSTERS
    ]


@pytest.fixture
def acme(db: None) -> Partner:
    return make_partner("partner-acme", "Acme Corp", "gold")


@pytest.fixture
def globex(db: None) -> Partner:
    return make_partner("partner-globex", "Globex", "silver")


@pytest.fixture
def acme_api(acme: Partner) -> PartnerClient:
    return PartnerClient(acme.credentials.get())


@pytest.fixture
def globex_api(globex: Partner) -> PartnerClient:
    return PartnerClient(globex.credentials.get())


def make_vm(partner: Partner, cluster: Cluster, *, name: str = "prod-web-01", status: str = "running",
            tags: dict[str, str] | None = None, age_days: int = 3, memory_gb: int = 8, disk_size_gb: int = 100,
            vm_id: str | None = None) -> VM:  # fmt: skip
    created = timezone.now() - timedelta(days=age_days)
    return VM.objects.create(
        vm_id=vm_id or f"vm-{partner.partner_id[-4:]}-{VM.objects.count():04d}", partner=partner, name=name,
        status=status, template="ubuntu-24.04", cpu_cores=4, memory_gb=memory_gb, disk_size_gb=disk_size_gb,
        network_id="net-1", cloud_provider=cluster.cloud_provider, region=cluster.region, cluster=cluster,
        ip_address="10.0.0.5", tags=tags or {}, created_at=created, updated_at=created,
    )  # fmt: skip


VM_SPEC = {
    "name": "api-test-01", "template": "ubuntu-24.04", "cpu_cores": 2, "memory_gb": 4, "disk_size_gb": 40,
    "network_id": "net-1", "cloud_provider": "aws", "region": "us-east-1", "tags": {"env": "test"},
}  # fmt: skip
