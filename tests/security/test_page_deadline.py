"""A page waits for NovaCron at most NOVACRON_TIMEOUT (its retry included), then shows cached data."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import make_cluster, make_vm
from tests.security.loopback_novacron import LoopbackNovaCron, running

pytestmark = pytest.mark.django_db

TIMEOUT = 0.5
# Rendering the page and noticing the deadline, on a busy 2-core machine.
MARGIN = 0.5


@pytest.fixture
def hanging_novacron(settings: Any) -> Iterator[LoopbackNovaCron]:
    """A NovaCron that takes every API call and answers none of them in time."""
    with running(api_delay=30) as novacron:
        settings.NOVACRON_API_URL = novacron.url
        settings.NOVACRON_TIMEOUT = TIMEOUT
        yield novacron


def test_a_vm_page_shows_the_cached_vm_within_the_timeout_when_novacron_hangs(
    partner: Any, operator: Any, grant: Any, client_of: Any, hanging_novacron: LoopbackNovaCron
) -> None:
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_vm(partner, 1, name="alpha", status="running")
    grant(operator, "openid profile email vm:read vm:write")
    browser = client_of(operator)

    started = time.monotonic()
    response = browser.get("/vms/vm-00001/")
    elapsed = time.monotonic() - started

    body = response.content.decode()
    assert response.status_code == 200
    assert "NovaCron is unreachable right now." in body
    assert 'data-vm-status="running"' in body  # the cached copy
    assert elapsed <= TIMEOUT + MARGIN, f"the page took {elapsed:.2f}s"
    # The user client's one retry did not get its own 0.5 s: the deadline was spent by the first try.
    assert hanging_novacron.api_requests == ["GET /api/v1/vms/vm-00001"]


@pytest.mark.parametrize(
    "path", ["/vms/vm-00001/metrics.json", "/vms/new/", "/partner/integrations/", "/partner/webhooks/"]
)
def test_every_page_that_calls_novacron_answers_within_the_timeout_when_novacron_hangs(
    path: str, partner: Any, owner: Any, grant: Any, client_of: Any, hanging_novacron: LoopbackNovaCron
) -> None:
    make_vm(partner, 1, name="alpha", status="running")
    grant(owner, "openid profile email vm:read vm:write partner:admin")
    browser = client_of(owner)

    started = time.monotonic()
    response = browser.get(path)
    elapsed = time.monotonic() - started

    assert response.status_code != 500, response.status_code  # a page or a clear 502/503, never a crash
    assert hanging_novacron.api_requests, "the page did not call NovaCron at all"
    # One timeout per call the page makes, never one per attempt.
    calls = len(hanging_novacron.api_requests)
    assert elapsed <= calls * TIMEOUT + MARGIN, f"{path} took {elapsed:.2f}s for {calls} call(s)"
