"""Finding a VM by a pasted IP, and the CSV of a filtered list, in Chromium against the real stack."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import reload_until as _reload_until
from tests.browser import wait_until as _wait_until
from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser


def test_a_pasted_ip_finds_its_vm_and_the_csv_of_a_filtered_list_has_the_lists_count(
    signed_in_page: Any, portal_server: PortalServer, celery_worker_process: Process, tmp_path: Path
):
    url = portal_server.url
    page = signed_in_page("viewer@acme.example")
    _reload_until(page, f"{url}/vms/?sort=-created", "#vm-table tbody tr[data-vm-id]")

    # Search by IP: the row's address, pasted into the search box, finds that VM alone.
    row = page.locator("#vm-table tbody tr[data-vm-id]").nth(3)
    vm_id = row.get_attribute("data-vm-id")
    ip = row.locator("td.vm-ip").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f.:]+", ip), ip
    page.fill("#id_q", ip)
    _wait_until(page, "(ip) => new URLSearchParams(location.search).get('q') === ip", ip)
    _wait_until(
        page,
        "(id) => { const rows = document.querySelectorAll('#vm-table tbody tr[data-vm-id]');"
        " return rows.length === 1 && rows[0].dataset.vmId === id; }",
        vm_id,
    )
    assert page.locator("#vm-range").inner_text().strip().endswith("of 1")

    # The CSV of a filtered list: as many rows as the list counts, all matching the filter.
    page.goto(f"{url}/vms/?status=running&sort=cpu")
    count = int(page.locator("#vm-range").inner_text().split(" of ")[1].replace(",", ""))
    assert count > 25  # more than one page, so the CSV is more than the page shown
    assert "status=running" in page.get_attribute("#vm-export", "href")
    with page.expect_download() as download_info:
        page.click("#vm-export")
    saved = tmp_path / "vms.csv"
    download_info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert len(rows) == count
    assert {r["status"] for r in rows} == {"running"}
    assert [int(r["cpu_cores"]) for r in rows] == sorted(int(r["cpu_cores"]) for r in rows)
