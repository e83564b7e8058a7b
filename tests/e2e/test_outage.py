"""NovaCron stops answering: the overview and the VM list say so in one line, and stop saying it
once NovaCron is back. The outage is the sandbox's fault injection (every API call answers 503), and
the portal learns of it the way it would in production, from its worker's next sync."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser

# The worker's incremental sync runs every 30 s; a failing one retries NovaCron's 503s first.
SYNC_TIMEOUT_S = 120
LINE = "#novacron-outage"


def _faults(sandbox_url: str, method: str, body: dict[str, Any] | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{sandbox_url}/sandbox/faults",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


@pytest.fixture
def novacron_down(portal_server: PortalServer) -> Iterator[None]:
    sandbox = portal_server.sandbox.url
    _faults(sandbox, "PUT", {"error_rates": {"/api/v1/": 1.0}})
    try:
        yield
    finally:
        _faults(sandbox, "DELETE")


def _reload_until(page: Any, url: str, present: bool) -> None:
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    while True:
        page.goto(url)
        if bool(page.locator(LINE).count()) == present:
            return
        assert time.monotonic() < deadline, f"{LINE} {'never appeared' if present else 'stayed'} on {url}"
        time.sleep(2)


def test_the_overview_and_the_list_say_when_novacron_stopped_answering(
    signed_in_page: Any, portal_server: PortalServer, celery_worker_process: Process, novacron_down: None
) -> None:
    url = portal_server.url
    # A person no other test signs in as: NovaCron remembers consent, and test_signin expects to be asked.
    page = signed_in_page("viewer@globex.example")

    _reload_until(page, f"{url}/", present=True)
    for path in ("/", "/vms/"):
        page.goto(url + path)
        text = page.inner_text(LINE)
        assert text.startswith("NovaCron has not answered since "), text
        assert "this page shows cached data" in text
    assert page.locator("#vm-table tbody tr").count(), "the cached list is still shown"

    _faults(portal_server.sandbox.url, "DELETE")
    _reload_until(page, f"{url}/vms/", present=False)
