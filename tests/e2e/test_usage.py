"""The usage page in Chromium against the real stack: once the worker has synced the seeded fleet and the
rollups are refreshed, an operator opens Usage, switches the breakdown to `cost-center` and downloads
the CSV of the month."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest

from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser

SYNC_TIMEOUT_S = 120


def _wait_for_fleet(page: Any, url: str) -> None:
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    while True:
        page.goto(f"{url}/vms/?status=running")
        if page.locator("#vm-table tbody [data-vm-status]").count():
            return
        if time.monotonic() > deadline:
            raise AssertionError("the worker never synced a running VM")
        time.sleep(2)


def test_an_operator_breaks_usage_down_by_cost_center_and_downloads_the_csv(
    signed_in_page: Any, portal_server: PortalServer, celery_worker_process: Process
) -> None:
    url = portal_server.url
    page = signed_in_page("operator@acme.example")
    _wait_for_fleet(page, url)
    time.sleep(1.5)  # some running time to count
    portal_server.manage("refresh_usage", "partner-acme")

    page.click("nav >> text=Usage")
    page.wait_for_selector("#usage-breakdown")
    assert page.locator("#usage-freshness").inner_text().count("Computed") == 1
    assert page.locator("#usage-chart").get_attribute("data-datasets") not in (None, "0")

    with page.expect_navigation():
        page.select_option("select[name=by]", "tag:cost-center")
    assert "by=tag%3Acost-center" in page.url or "by=tag:cost-center" in page.url
    assert page.locator("#usage-breakdown").get_attribute("data-dimension") == "tag:cost-center"
    first = page.locator("#usage-breakdown tbody th").first.inner_text()
    assert first.startswith("cc-")

    with page.expect_download() as download_info:
        page.click("#usage-export")
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert download.suggested_filename.startswith("usage-")
    assert rows and {"day", "vm_id", "vcpu_hours", "tags"} <= set(rows[0])
    assert any("cost-center=cc-" in row["tags"] for row in rows)
