"""Evacuating a cluster in Chromium against the real stack: the plan, an edit and "Plan again", the
job run by the real Celery worker within `migration_concurrent`, and its progress pushed to the open
job page until it is done.

The cluster is the test's own: a small one added to the sandbox beside AWS us-east-1 A and B, with
four small VMs of Acme's, and Acme's `migration_concurrent` lowered so that the slots are what paces
the job. Whether they were respected is read at the sandbox, from its migrations' own times. The
VMs are deleted and the limit restored at the end, so the other browser tests keep their fleet.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from typing import Any

import novacron
import pytest
from novacron.models import VMSpec

from tests.browser import reload_until, wait_until
from tests.servers import PortalServer, Process, run_checked

pytestmark = pytest.mark.browser

CLUSTER = "cl-aws-use1-evac"
TARGETS = {"cl-aws-use1-a", "cl-aws-use1-b"}
VMS = 4
SLOTS = 2  # free migration slots the job gets
JOB_TIMEOUT_S = 45


def _sandbox_shell(portal: PortalServer, code: str) -> str:
    sandbox = portal.sandbox
    return run_checked([sys.executable, "-m", "sandbox", "shell", "-c", code], sandbox.env)


def _set_migration_limit(portal: PortalServer, limit: int | None) -> int:
    """Acme's `migration_concurrent` at the sandbox (None: the tier's default again); the old value."""
    code = (
        "import json; from sandbox.core.models import Partner; "
        "p = Partner.objects.get(partner_id='partner-acme'); limits = dict(p.quota_limits or {}); "
        "old = limits.get('migration_concurrent'); "
        f"limit = {limit!r}; "
        "limits.pop('migration_concurrent', None) if limit is None else limits.update(migration_concurrent=limit); "
        "p.quota_limits = limits; p.save(update_fields=['quota_limits']); print(json.dumps(old))"
    )
    return json.loads(_sandbox_shell(portal, code).strip().splitlines()[-1])


def _small_cluster_with_vms(portal: PortalServer, client: novacron.Client) -> list[str]:
    _sandbox_shell(
        portal,
        "from sandbox.core.models import Cluster; Cluster.objects.update_or_create(cluster_id="
        f"{CLUSTER!r}, defaults=dict(name='AWS us-east-1 Evac', cloud_provider='aws', region='us-east-1', "
        "status='active', link_speed_mbps=10000, vcpus_total=64, memory_gb_total=256))",
    )
    vm_ids = [
        client.create_vm(
            VMSpec(
                name=f"evac-{n}",
                template="ubuntu-22.04",
                cpu_cores=1 + n % 2,
                memory_gb=2,
                disk_size_gb=20,
                network_id="net-us-east-1-01",
                cloud_provider="aws",
                region="us-east-1",
                cluster=CLUSTER,
            )
        ).vm_id
        for n in range(VMS)
    ]
    deadline = time.monotonic() + 30
    while {client.get_vm(vm_id).status for vm_id in vm_ids} != {"running"}:
        assert time.monotonic() < deadline, "the new VMs never finished provisioning"
        time.sleep(0.5)
    return vm_ids


def _peak(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = open_ = 0
    for _, step in events:
        open_ += step
        peak = max(peak, open_)
    return peak


def test_evacuate_a_small_cluster_and_watch_it_finish_within_migration_concurrent(
    signed_in_page: Any,
    portal_server: PortalServer,
    celery_worker_process: Process,
    acme_ready: novacron.Client,
):
    url, client = portal_server.url, acme_ready
    vm_ids: list[str] = []
    others = next(q.used for q in client.get_quotas() if q.name == "migration_concurrent")
    limit = others + SLOTS  # whatever else of Acme's is migrating keeps its slots; the job gets two
    old_limit = _set_migration_limit(portal_server, limit)
    try:
        vm_ids = _small_cluster_with_vms(portal_server, client)
        portal_server.manage("sync_now", "--partner", "partner-acme", "--full")
        page = signed_in_page("admin@acme.example", scopes=["migration:execute"])

        # From the VM list filtered to the cluster, to its evacuation plan.
        reload_until(page, f"{url}/vms/?cluster={CLUSTER}", "#vm-evacuate-cluster")
        page.click("#vm-evacuate-cluster")
        page.wait_for_url(f"{url}/jobs/evacuate/{CLUSTER}/")
        rows = "#evacuation-plan tbody tr[data-vm-id]"
        assert page.locator(rows).count() == VMS
        planned = dict(
            page.locator(rows).evaluate_all("rs => rs.map(r => [r.dataset.vmId, r.dataset.target])")
        )
        assert set(planned) == set(vm_ids) and set(planned.values()) <= TARGETS
        # The two other clusters of aws us-east-1 are the candidates (their capacity dwarfs these VMs,
        # so the least used may well take them all: the spread itself is the unit tests').
        candidates = page.locator("#evacuation-targets tbody tr").evaluate_all(
            "rs => rs.map(r => r.dataset.clusterId)"
        )
        assert set(candidates) == TARGETS
        assert page.get_attribute("#evacuation-summary", "data-moving") == str(VMS)
        assert f"{limit} at a time" in page.inner_text("#evacuation-summary")

        # An edit: the first VM goes to the other cluster than the plan's; "Plan again" shows it.
        first = vm_ids[0]
        elsewhere = next(iter(TARGETS - {planned[first]}))
        page.select_option(f"#target-{first}", elsewhere)
        page.click("#evacuation-replan")
        page.wait_for_selector(f'{rows}[data-vm-id="{first}"][data-chosen="true"]')
        assert page.get_attribute(f'{rows}[data-vm-id="{first}"]', "data-target") == elsewhere
        planned = dict(
            page.locator(rows).evaluate_all("rs => rs.map(r => [r.dataset.vmId, r.dataset.target])")
        )
        assert page.get_attribute("#evacuation-summary", "data-refused") == "false"

        # Start it: the job page opens, and from then on nothing reloads it.
        page.click("#evacuation-form .evacuation-submit")
        page.wait_for_url(re.compile(re.escape(f"{url}/jobs/") + r"job-[0-9a-f]+/$"))
        job_id = page.url.rstrip("/").rsplit("/", 1)[1]
        assert f"Evacuate {CLUSTER}" in page.inner_text("h1")
        page.evaluate("window.__sameDocument = true")
        card = f"#job-progress-{job_id}"
        assert page.get_attribute(card, "data-total") == str(VMS)
        wait_until(
            page,
            "(c) => { const e = document.querySelector(c); return !!e && e.dataset.status === 'finished'; }",
            card,
            timeout_s=JOB_TIMEOUT_S,
        )
        assert page.evaluate("window.__sameDocument") is True  # pushed (or polled), never reloaded
        assert page.get_attribute(card, "data-done") == str(VMS)

        # NovaCron agrees: each VM is on the target the plan gave it, and the job's migrations never
        # ran more than its slots at once (nor Acme's more than migration_concurrent).
        assert {vm_id: client.get_vm(vm_id).cluster for vm_id in vm_ids} == planned
        mine = [m for vm_id in vm_ids for m in client.list_migrations(vm_id=vm_id).data]
        assert len(mine) == VMS and {m.status for m in mine} == {"completed"}
        spans = [
            (m.created_at.timestamp(), m.finished_at.timestamp())
            for m in mine
            if m.created_at and m.finished_at
        ]
        assert len(spans) == VMS
        assert _peak(spans) <= SLOTS <= limit
    finally:
        for vm_id in vm_ids:
            with contextlib.suppress(novacron.NovaCronError):
                client.delete_vm(vm_id)
        _set_migration_limit(portal_server, old_limit)
        portal_server.manage("sync_now", "--partner", "partner-acme")
