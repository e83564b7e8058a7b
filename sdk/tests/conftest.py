"""Fixtures: a fake clock (time never really passes) and a client wired to `responses`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from novacron import Client
from sdk_support import FakeClock, make_client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    # Any request without a registered answer raises ConnectionError: no test reaches a real host.
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client(clock: FakeClock) -> Iterator[Client]:
    with make_client(clock) as sdk_client:
        yield sdk_client
