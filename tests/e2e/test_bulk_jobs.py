"""A bulk stop in Chromium against the real stack: the VM list's filter, "select all N matching",
the preview, the job run by the real Celery worker, and its progress pushed to the open job page.

What the job did is checked where it happened: at the sandbox, through the partner's own client.
The VMs stopped are started again at the end so the other browser tests keep their fleet.
"""

from __future__ import annotations

import re
from typing import Any

import novacron
import pytest

from tests.browser import reload_until, wait_until
from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser

JOB_TIMEOUT_S = 90


def _smallest_running_cluster(client: novacron.Client) -> tuple[str, str]:
    """The (region, cluster) with the fewest running VMs, at least two: a job that is short."""
    counts: dict[tuple[str, str], int] = {}
    for vm in client.iter_vms(status="running"):
        key = (vm.region, vm.cluster)
        counts[key] = counts.get(key, 0) + 1
    candidates = sorted((n, key) for key, n in counts.items() if n >= 2)
    assert candidates, "the sandbox seed has no cluster with two running VMs"
    return candidates[0][1]


def test_stop_every_vm_matching_a_filter_as_a_job_and_watch_it_finish_without_a_reload(
    signed_in_page: Any,
    portal_server: PortalServer,
    celery_worker_process: Process,
    acme_ready: novacron.Client,
):
    url = portal_server.url
    client = acme_ready
    region, cluster = _smallest_running_cluster(client)
    expected = {vm.vm_id for vm in client.iter_vms(status="running", region=region, cluster=cluster)}
    page = signed_in_page("operator@acme.example", scopes=["vm:write"])
    stopped: set[str] = set()
    try:
        # The list, filtered through its own form to the running VMs of one cluster of one region.
        reload_until(page, f"{url}/vms/", "#vm-table tbody tr[data-vm-id]")
        page.evaluate("window.__sameDocument = true")
        page.select_option("#id_status", "running")
        wait_until(page, "() => new URLSearchParams(location.search).get('status') === 'running'")
        page.select_option("#id_region", region)
        wait_until(page, "(r) => new URLSearchParams(location.search).get('region') === r", region)
        page.select_option("#id_cluster", cluster)
        wait_until(page, "(c) => new URLSearchParams(location.search).get('cluster') === c", cluster)
        wait_until(
            page,
            "(n) => document.querySelector('label[for=vm-select-all]')?.textContent === "
            "`Select all ${n} matching this filter`",
            len(expected),
        )
        assert page.evaluate("window.__sameDocument") is True
        shown = set(
            page.locator("#vm-table tbody tr[data-vm-id]").evaluate_all("rs => rs.map(r => r.dataset.vmId)")
        )
        assert shown == expected
        label = page.locator("label[for=vm-select-all]").inner_text()
        assert label == f"Select all {len(expected)} matching this filter"

        # Select all matching, Stop, and open the preview.
        page.check("#vm-select-all")
        page.select_option("#vm-bulk-action", "stop")
        page.click("#vm-bulk-preview")
        page.wait_for_url(re.compile(re.escape(f"{url}/jobs/new/") + r"\?"))
        assert page.locator("#job-preview .job-eligible").inner_text() == str(len(expected))
        assert page.locator("#job-preview .job-skipped").inner_text() == "0"
        assert f"{len(expected)} API calls" in page.locator("#job-preview .job-cost").inner_text()

        # Start the job: the job page opens, and from then on nothing reloads it.
        page.click("#job-form .job-submit")
        page.wait_for_url(re.compile(re.escape(f"{url}/jobs/") + r"job-[0-9a-f]+/$"))
        stopped = expected
        job_id = page.url.rstrip("/").rsplit("/", 1)[1]
        page.evaluate("window.__sameDocument = true")
        card = f"#job-progress-{job_id}"
        assert page.get_attribute(card, "data-total") == str(len(expected))
        wait_until(
            page,
            "(c) => { const e = document.querySelector(c); return !!e && e.dataset.status === 'finished'; }",
            card,
            timeout_s=JOB_TIMEOUT_S,
        )
        assert page.evaluate("window.__sameDocument") is True  # pushed (or polled), never reloaded
        assert page.get_attribute(card, "data-done") == str(len(expected))
        assert page.locator(f"{card} .progress-bar").inner_text() == "100%"
        assert re.search(
            rf"{len(expected)} done, 0 failed, 0 skipped", page.locator(f"{card} .job-counts").inner_text()
        )

        # NovaCron agrees: every VM of the snapshot is stopped there.
        assert {client.get_vm(vm_id).status for vm_id in expected} == {"stopped"}
    finally:
        for vm_id in stopped:
            if client.get_vm(vm_id).status == "stopped":
                client.start_vm(vm_id)
