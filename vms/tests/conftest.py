from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import novacron
import pytest
import responses
from novacron.config import SDKConfig

from tests.conftest import sandbox_server  # noqa: F401  (the shared real-sandbox fixture)
from tests.fakes import API, FakeClock, FakeNovaCron
from vms.pacing import SyncPacer


@pytest.fixture
def mocked_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake_novacron(mocked_api: responses.RequestsMock) -> FakeNovaCron:
    fake = FakeNovaCron()
    fake.install(mocked_api)
    return fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hmac_client(partner: Any, clock: FakeClock) -> novacron.Client:
    """The partner's HMAC client; SDK retries off so the sync's own back-off is what is tested."""
    config = SDKConfig(
        base_url=API,
        partner_id=partner.partner_id,
        api_key="nck_acme_test",
        api_secret="acme-test-secret",
        max_retries=0,
        rate_limit_rps=1_000_000,
    )
    return novacron.Client(config, sleep=clock.sleep)


@pytest.fixture
def pacer(clock: FakeClock) -> SyncPacer:
    return SyncPacer(limit_per_minute=1000, share=0.5, clock=clock, sleep=clock.sleep)


@pytest.fixture
def api_settings(settings: Any) -> Any:
    """Point the per-user client at the mocked NovaCron."""
    settings.NOVACRON_API_URL = API
    return settings


@pytest.fixture
def writer(operator: Any, grant: Any, api_settings: Any) -> Any:
    """An operator who granted vm:write."""
    grant(operator, "openid profile email vm:read vm:write")
    return operator


@pytest.fixture
def reader(operator: Any, grant: Any, api_settings: Any) -> Any:
    """An operator who signed in but has not granted vm:write yet."""
    grant(operator, "openid profile email vm:read")
    return operator
