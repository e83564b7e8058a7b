"""A VM row replaced live (its VM changed at NovaCron) keeps the bulk-action checkbox as the person
left it: ticked stays ticked, unticked stays unticked, and nothing reloads the list."""

from __future__ import annotations

from typing import Any

import novacron
import pytest

from tests.browser import reload_until, wait_until
from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_S = 45
ROW_STATUS = "(id) => document.getElementById(id)?.querySelector('[data-vm-status]')?.dataset.vmStatus"
REPLACED = "(id) => { const row = document.getElementById(id); return !!row && !row.dataset.before; }"
TICKED = "(id) => document.getElementById(id).querySelector('input.vm-pick').checked"


def test_a_live_row_replace_keeps_the_rows_checkbox_as_it_was(
    signed_in_page: Any,
    portal_server: PortalServer,
    celery_worker_process: Process,
    acme_ready: novacron.Client,
):
    url = portal_server.url
    client = acme_ready
    page = signed_in_page("operator@acme.example", scopes=["vm:write"])
    reload_until(page, f"{url}/vms/", "#vm-table tbody tr[data-vm-id]")
    running = page.locator("#vm-table tbody tr[data-vm-id]:has([data-vm-status=running])").evaluate_all(
        "rows => rows.map(r => r.dataset.vmId)"
    )
    assert len(running) >= 2, "the list's first page has fewer than two running VMs"
    ticked, unticked = running[0], running[1]
    wait_until(page, "() => document.documentElement.dataset.liveStream === 'up'")
    page.check(f"#vm-row-{ticked} input.vm-pick")
    page.evaluate("window.__sameDocument = true")
    for vm_id in (ticked, unticked):
        page.evaluate(
            "(id) => { document.getElementById(id).dataset.before = 'running'; }", f"vm-row-{vm_id}"
        )
    stopped: list[str] = []
    try:
        for vm_id in (ticked, unticked):
            client.stop_vm(vm_id)
            stopped.append(vm_id)
        for vm_id in (ticked, unticked):
            row = f"vm-row-{vm_id}"
            wait_until(page, REPLACED, row, timeout_s=LIVE_TIMEOUT_S)  # the pushed row took its place
            wait_until(page, f"(id) => ({ROW_STATUS})(id) === 'stopped'", row, timeout_s=LIVE_TIMEOUT_S)
        assert page.evaluate("window.__sameDocument") is True
        assert page.evaluate(TICKED, f"vm-row-{ticked}") is True
        assert page.evaluate(TICKED, f"vm-row-{unticked}") is False
    finally:
        for vm_id in stopped:
            if client.get_vm(vm_id).status == "stopped":
                client.start_vm(vm_id)
