"""Chromium for the browser tests and the production smoke test: Debian's build, driven by Playwright."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.servers import SandboxServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def chromium() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/ensure-chromium.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def sign_in_at_sandbox(page: Any, sandbox: SandboxServer, email: str, *, allow: bool = True) -> None:
    """On NovaCron's pages: the login form (if not signed in there yet), then consent (if asked).

    NovaCron remembers consent for the whole run: a test that expects to be asked signs in as someone
    no earlier test has granted that scope.
    """
    page.wait_for_url(re.compile(re.escape(sandbox.url) + r"/"))
    if "/accounts/login/" in page.url:
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", sandbox.password)
        page.click("button[type=submit]")
    if "/oauth/authorize/" in page.url and page.locator("button[name=allow], button[name=deny]").count():
        page.click("button[name=allow]" if allow else "button[name=deny]")


def wait_until(page: Any, expression: str, arg: Any = None, timeout_s: float = 30) -> None:
    """Poll a page expression from here (the portal's CSP forbids the eval that wait_for_function uses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression} on {page.url}")
        time.sleep(0.2)


def reload_until(page: Any, url: str, selector: str, timeout_s: float = 120) -> None:
    """Reload `url` until `selector` shows up: the worker syncs on its own schedule."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(url)
        if page.locator(selector).count():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} never appeared on {url}")
        time.sleep(2)
