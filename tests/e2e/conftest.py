"""The browser harness: the portal under uvicorn, a real Celery worker, and Chromium via Playwright.

Browser tests never use pytest-django's database: the portal runs in its own process on its own
database file (or the CI database), and tests look at it through the browser.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import novacron
import pytest
from novacron.config import SDKConfig

from tests.browser import chromium, sign_in_at_sandbox
from tests.servers import PortalServer, Process, SandboxServer, start_portal, start_worker

# Playwright's sync API runs an event loop in this thread; Django code in the test process (rare in
# browser tests) would otherwise refuse to run.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def portal_server(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalServer]:
    """The portal under uvicorn on the port the sandbox registered, with Acme and Globex imported."""
    server = start_portal(sandbox_server, tmp_path_factory.mktemp("portal"))
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def celery_worker_process(
    portal_server: PortalServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    """A real `celery -A portal worker --beat` on the portal's database and broker."""
    worker = start_worker(portal_server, tmp_path_factory.mktemp("worker"))
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def acme_ready(portal_server: PortalServer, celery_worker_process: Process) -> novacron.Client:
    """Webhooks subscribed to this portal and the inventory synced, so pages have VMs and clusters;
    the partner's own API client."""
    portal_server.manage(
        "shell",
        "-c",
        (
            "from partners.models import Partner; from webhooks.subscriptions import webhook_subscription_ensure; "
            "print(webhook_subscription_ensure(partner=Partner.objects.get(partner_id='partner-acme')))"
        ),
    )
    portal_server.manage("sync_now", "--partner", "partner-acme", "--full")
    credentials = portal_server.sandbox.credentials["partner-acme"]
    return novacron.Client(
        SDKConfig(
            base_url=portal_server.sandbox.url,
            partner_id="partner-acme",
            api_key=credentials["api_key"],
            api_secret=credentials["api_secret"],
        )
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page for one test."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def signed_in_page(page: Any, portal_server: PortalServer) -> Callable[..., Any]:
    """`signed_in_page("operator@acme.example", scopes=["vm:write"])`: the real sign-in and consent
    through the sandbox's pages, then a step-up grant for each extra scope. Returns the page,
    on the portal's landing page."""
    sandbox = portal_server.sandbox

    def sign_in(email: str, scopes: list[str] | None = None, next_path: str = "/") -> Any:
        page.goto(f"{portal_server.url}/accounts/login/?next={next_path}")
        page.click("#sign-in")
        sign_in_at_sandbox(page, sandbox, email)
        page.wait_for_url(re.compile(re.escape(portal_server.url) + r"/"))
        for scope in scopes or []:
            page.goto(f"{portal_server.url}/accounts/grant/?scope={scope}&next={next_path}")
            if page.url.startswith(sandbox.url):
                sign_in_at_sandbox(page, sandbox, email)
            page.wait_for_url(re.compile(re.escape(portal_server.url) + r"/"))
        return page

    return sign_in


@pytest.fixture
def portal_url(portal_server: PortalServer) -> str:
    return portal_server.url
