"""What a person sees of htmx requests and the layout in Chromium (static/js/portal.js, theme.js):
a failed request's toast and its Retry, focus kept on the sort link, the theme toggle remembered by
the browser, and the VM list's filters behind a button on a phone, staying open while they filter."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser

LIST_REQUESTS = re.compile(r".*/vms/\?.*")


def _wait_until(page: Any, expression: str, timeout_s: float = 10) -> None:
    """Poll from here: the portal's CSP forbids the eval wait_for_function needs."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def test_a_failing_swap_shows_a_toast_whose_retry_repeats_it(
    signed_in_page: Any, portal_url: str, acme_ready: Any
) -> None:
    page = signed_in_page("viewer@acme.example")
    page.goto(f"{portal_url}/vms/")
    failing = {"mode": "500"}

    def answer(route: Any) -> None:
        if route.request.headers.get("hx-request") != "true" or failing["mode"] == "off":
            route.continue_()
        elif failing["mode"] == "500":
            route.fulfill(status=500, body="Internal Server Error")
        else:
            route.abort("connectionrefused")

    page.route(LIST_REQUESTS, answer)
    page.click("a[data-sort='name']")

    toast = page.locator("#request-errors .toast")
    toast.wait_for()
    assert "500" in toast.inner_text() and toast.get_attribute("role") == "alert"
    assert page.url == f"{portal_url}/vms/"  # nothing was swapped or pushed

    # The network itself failing says so too (htmx:sendError), in place of the first toast.
    failing["mode"] = "abort"
    page.click("#request-errors [data-retry]")
    _wait_until(page, "() => /did not answer/.test(document.getElementById('request-errors').innerText)")
    assert toast.count() == 1

    failing["mode"] = "off"
    with page.expect_response(lambda response: "sort=" in response.url and response.status == 200):
        page.click("#request-errors [data-retry]")
    _wait_until(page, "() => !document.querySelector('#request-errors .toast')")
    _wait_until(page, "() => document.documentElement.classList.contains('portal-busy') === false")
    assert "sort=" in page.locator("a[data-sort='name']").get_attribute("href")


def test_after_sorting_the_focus_is_back_on_the_sort_link(
    signed_in_page: Any, portal_url: str, acme_ready: Any
) -> None:
    page = signed_in_page("viewer@acme.example")
    page.goto(f"{portal_url}/vms/")

    page.focus("a[data-sort='cpu']")
    with page.expect_response(lambda response: "sort=" in response.url and response.status == 200):
        page.keyboard.press("Enter")

    _wait_until(page, "() => document.activeElement && document.activeElement.dataset.sort === 'cpu'")
    assert page.evaluate("location.search").startswith("?")
    # A second Enter sorts the other way: the person never had to find the link again.
    with page.expect_response(lambda response: "sort=" in response.url and response.status == 200):
        page.keyboard.press("Enter")
    _wait_until(page, "() => new URLSearchParams(location.search).get('sort') === '-cpu'")
    _wait_until(page, "() => document.activeElement && document.activeElement.dataset.sort === 'cpu'")


def test_the_theme_toggle_is_remembered_by_the_browser(signed_in_page: Any, portal_url: str) -> None:
    page = signed_in_page("viewer@acme.example")
    page.emulate_media(color_scheme="light")
    page.goto(f"{portal_url}/")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "light"
    toggle = page.locator("#theme-toggle")
    assert toggle.get_attribute("data-theme-choice") == "auto"

    toggle.click()  # light
    toggle.click()  # dark
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"

    page.goto(f"{portal_url}/vms/")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"
    assert toggle.get_attribute("data-theme-choice") == "dark"
    toggle.click()  # back to the system's
    page.emulate_media(color_scheme="dark")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"
    page.emulate_media(color_scheme="light")
    _wait_until(page, "() => document.documentElement.dataset.bsTheme === 'light'")


def test_on_a_phone_the_filters_wait_behind_a_button_and_stay_open_while_filtering(
    signed_in_page: Any, portal_url: str, acme_ready: Any
) -> None:
    page = signed_in_page("viewer@acme.example")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{portal_url}/vms/")
    assert not page.locator("#vm-filters").is_visible()
    assert page.locator("#vm-table").is_visible()

    page.click("#vm-filters-toggle")
    page.locator("#id_status").wait_for(state="visible")
    with page.expect_response(lambda response: "status=stopped" in response.url):
        page.select_option("#id_status", "stopped")

    _wait_until(page, "() => new URLSearchParams(location.search).get('status') === 'stopped'")
    _wait_until(page, "() => document.getElementById('vm-filters-panel').classList.contains('show')")
    assert page.locator("#vm-filters-toggle").get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
