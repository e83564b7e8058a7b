"""The inventory in Chromium against the real stack: sandbox, portal under uvicorn, Celery worker with beat.

The worker's beat schedule fills the cache (nothing is synced by hand), then a person filters the
list, opens a VM, sees its charts drawn, stops and starts it, and reads the quota gauges.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import reload_until, wait_until
from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser


def _statuses(page: Any) -> set[str]:
    return set(page.locator("#vm-table tbody [data-vm-status]").all_inner_texts())


def test_a_person_filters_opens_a_vm_sees_charts_stops_and_starts_it_and_reads_quotas(
    signed_in_page: Any, portal_server: PortalServer, celery_worker_process: Process
):
    url = portal_server.url
    page = signed_in_page("operator@acme.example", scopes=["vm:write"])

    # The overview: a quota gauge, once the worker's partner sync has run.
    reload_until(page, f"{url}/", ".quota-gauge[data-quota=vm_create_per_day]")
    gauge = page.locator(".quota-gauge[data-quota=vm_create_per_day]")
    assert re.search(r"used \d+ of \d+", gauge.inner_text())
    assert gauge.get_attribute("data-level") in {"success", "warning", "danger"}

    # The list, filtered by status then region through htmx, with the URL following along.
    reload_until(page, f"{url}/vms/", "#vm-table tbody tr[data-vm-id]")
    page.evaluate("window.__sameDocument = true")
    page.select_option("#id_status", "running")
    wait_until(page, "() => location.search === '?status=running'")
    wait_until(
        page,
        "() => document.querySelector('#id_status').value === 'running' && "
        "[...document.querySelectorAll('#vm-table [data-vm-status]')].every(b => b.textContent === 'running')",
    )
    assert _statuses(page) == {"running"}
    region = page.locator("#id_region option:not([value=''])").first.get_attribute("value")
    page.select_option("#id_region", region)
    wait_until(page, "(r) => new URLSearchParams(location.search).get('region') === r", region)
    wait_until(page, "(r) => document.querySelector('#id_region').value === r", region)
    rows = page.locator("#vm-table tbody tr[data-vm-id]")
    assert rows.count() > 0
    assert set(page.locator("#vm-table tbody tr[data-vm-id] td.vm-region").all_inner_texts()) == {region}
    assert _statuses(page) == {"running"}
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped the table, no reload
    query = parse_qs(urlsplit(page.url).query)
    assert query["status"] == ["running"] and query["region"] == [region]

    # The back button returns to the status-only view.
    page.go_back()
    wait_until(page, "() => location.search === '?status=running'")
    wait_until(page, "() => document.querySelector('#id_region').value === ''")

    # A VM's page: a chart with points drawn.
    page.goto(f"{url}/vms/?status=running&region={region}")
    vm_id = rows.first.get_attribute("data-vm-id")
    page.click(f"#vm-table tr[data-vm-id='{vm_id}'] a")
    page.wait_for_url(f"{url}/vms/{vm_id}/")
    wait_until(
        page,
        "() => { const c = document.querySelector('canvas[data-chart=cpu]');"
        " const chart = c && window.Chart && window.Chart.getChart(c);"
        " return !!chart && chart.getDatasetMeta(0).data.length > 0; }",
        timeout_s=30,
    )
    assert int(page.get_attribute("canvas[data-chart=cpu]", "data-points")) > 0
    assert page.get_attribute("#vm-metrics", "data-chart-state") == "ready"

    # Stop it, then start it again: the status badge follows.
    assert page.get_attribute(f"#vm-status-{vm_id}", "data-vm-status") == "running"
    page.click("button[data-action=stop]")
    page.wait_for_url(f"{url}/vms/{vm_id}/")
    assert page.get_attribute(f"#vm-status-{vm_id}", "data-vm-status") == "stopped"
    assert page.locator("button[data-action=stop]").is_disabled()
    page.click("button[data-action=start]")
    page.wait_for_url(f"{url}/vms/{vm_id}/")
    assert page.get_attribute(f"#vm-status-{vm_id}", "data-vm-status") in {"provisioning", "running"}
    reload_until(page, f"{url}/vms/{vm_id}/", f"#vm-status-{vm_id}[data-vm-status=running]", timeout_s=30)
    assert page.locator("button[data-action=start]").is_disabled()
