"""The production smoke test: the portal deployed the way README's production section says, used in
Chromium by a person who signs in and opens every main page.

`collectstatic` into a temporary STATIC_ROOT, then `DJANGO_ENV=production` with DEBUG off and
generated secrets: uvicorn with two workers behind a "proxy" (the browser sends
`X-Forwarded-Proto: https` itself), a Celery worker and a separate beat, on PostgreSQL and Redis when
the environment names them (CI) and on SQLite and the filesystem broker otherwise. It fails on any
5xx, any console error, any raw template syntax in a page, and any static file served without a
far-future cache header. Run alone with `make smoke`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, sign_in_at_sandbox
from tests.production import PROXY_HEADERS, ProductionPortal, start_production_portal
from tests.servers import SandboxServer, start_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# Django template syntax that reached the browser: a `{# #}` comment spanning lines, an unclosed tag.
RAW_TEMPLATE_SYNTAX = re.compile(r"\{#|#\}|\{%|%\}|\{\{|\}\}")
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
# WhiteNoise's header for files with a content hash in their name: ten years, immutable.
FAR_FUTURE_SECONDS = 365 * 24 * 3600
SYNC_TIMEOUT_S = 120


def raw_template_syntax(html: str) -> list[str]:
    """Pieces of template syntax in a rendered page, outside scripts and styles."""
    text = SCRIPT_OR_STYLE.sub("", html)
    return [text[max(0, m.start() - 40) : m.end() + 40] for m in RAW_TEMPLATE_SYNTAX.finditer(text)]


def max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control or "")
    return int(match.group(1)) if match else 0


class Problems:
    """Everything the browser saw go wrong, reported together at the end of a step."""

    def __init__(self, portal_url: str) -> None:
        self.portal_url = portal_url
        self.items: list[str] = []
        self.expected_errors: set[str] = set()

    def watch(self, page: Any) -> None:
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda error: self.items.append(f"page error: {error}"))
        page.on("response", self._response)

    def _console(self, page: Any, message: Any) -> None:
        source = message.location.get("url", "")
        # The browser logs the 4xx of a page it was sent to on purpose (the not-found page).
        if message.type == "error" and source not in self.expected_errors:
            self.items.append(f"console error on {page.url}: {message.text} ({source})")

    def _response(self, response: Any) -> None:
        if response.status >= 500:
            self.items.append(f"HTTP {response.status} for {response.url}")
        if response.url.startswith(self.portal_url + "/static/") and response.status == 200:
            header = response.headers.get("cache-control", "")
            if max_age(header) < FAR_FUTURE_SECONDS:
                self.items.append(
                    f"static file without a far-future cache header ({header!r}): {response.url}"
                )

    def check_page(self, page: Any, html: str | None = None) -> None:
        for source in filter(None, (html, page.content())):
            for piece in raw_template_syntax(source):
                self.items.append(f"raw template syntax on {page.url}: {piece!r}")
        assert not self.items, "\n".join(self.items)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    server = start_sandbox(tmp_path_factory.mktemp("smoke-sandbox"))
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def portal(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionPortal]:
    deployment = start_production_portal(sandbox, Path(tmp_path_factory.mktemp("smoke-portal")))
    yield deployment
    deployment.stop()


def _open(page: Any, problems: Problems, url: str) -> Any:
    response = page.goto(url)
    assert response is not None, url
    page.wait_for_load_state("networkidle")
    problems.check_page(page, response.text())
    return response


def _reload_until(page: Any, problems: Problems, url: str, selector: str) -> None:
    """The worker syncs on its own schedule: reload until the synced rows show."""
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    while True:
        _open(page, problems, url)
        if page.locator(selector).count():
            return
        assert time.monotonic() < deadline, f"{selector} never appeared on {url}"
        time.sleep(2)


def test_a_partner_admin_uses_every_main_page_of_a_production_deployment(portal: ProductionPortal) -> None:
    url = portal.url
    problems = Problems(url)
    with chromium() as browser:
        context = browser.new_context()
        # What a TLS-terminating proxy adds to every request it forwards to the portal (not to NovaCron).
        context.route(
            re.compile(re.escape(url) + r"/.*"),
            lambda route: route.continue_(headers={**route.request.headers, **PROXY_HEADERS}),
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        problems.watch(page)

        _open(page, problems, f"{url}/accounts/login/")
        page.click("#sign-in")
        sign_in_at_sandbox(page, portal.sandbox, "admin@acme.example")
        page.wait_for_url(re.compile(re.escape(url) + r"/"))
        problems.check_page(page)
        # An admin grants the scopes that the integrations and webhook pages need (NovaCron's consent).
        for scope in ("vm:write", "migration:execute", "partner:admin"):
            page.goto(f"{url}/accounts/grant/?scope={scope}&next=/accounts/")
            if page.url.startswith(portal.sandbox.url):
                sign_in_at_sandbox(page, portal.sandbox, "admin@acme.example")
            page.wait_for_url(re.compile(re.escape(url) + r"/accounts/"))
            problems.check_page(page)

        _reload_until(page, problems, f"{url}/", ".quota-gauge")
        _reload_until(page, problems, f"{url}/vms/", "#vm-table tbody a[href^='/vms/vm-']")

        first_vm = page.locator("#vm-table tbody a[href^='/vms/vm-']").first.get_attribute("href")
        _open(page, problems, f"{url}{first_vm}")
        page.wait_for_selector("canvas[data-chart][data-points]")
        problems.check_page(page)

        for path in (
            "/migrations/",
            "/partner/integrations/",
            "/partner/webhooks/",
            "/partner/webhooks/received/",
            "/webhooks/notifications/",
            "/accounts/",
        ):
            response = _open(page, problems, url + path)
            assert response.status == 200, f"{path}: HTTP {response.status}"

        problems.expected_errors.add(f"{url}/vms/vm-that-does-not-exist/")
        missing = _open(page, problems, f"{url}/vms/vm-that-does-not-exist/")
        assert missing.status == 404
        context.close()

    assert portal.healthy(), portal.logs()
