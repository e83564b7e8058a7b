"""A bulk stop against the real sandbox: within the jobs' budget share, and after a worker killed
mid-request, no VM stopped twice, both counted by the sandbox itself."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import novacron
import pytest
from novacron.config import SDKConfig

from jobs import services
from jobs.budget import JobsPacer
from jobs.models import Job, JobItem
from partners.clients import partner_client
from partners.models import Partner
from vms import sync
from vms.models import VM

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(partner: Partner, sandbox_server: Any, settings: Any) -> Partner:
    """The shared fixture's partner-acme, with the sandbox's credentials and its fleet synced."""
    settings.NOVACRON_API_URL = sandbox_server.url
    credentials = sandbox_server.credentials["partner-acme"]
    partner.tier = "gold"
    partner.api_key = credentials["api_key"]
    partner.api_secret = credentials["api_secret"]
    partner.save()
    sync.sync_partner(partner=partner)
    sync.sync_vms_incremental(partner=partner)
    return partner


def _sandbox_keys(sandbox_server: Any, keys: list[str]) -> dict[str, int]:
    """How many idempotency records the sandbox holds for each key (its own count of requests)."""
    path = sandbox_server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        marks = ",".join("?" * len(keys))
        rows = db.execute(
            f"SELECT key, COUNT(*) FROM core_idempotencyrecord WHERE key IN ({marks}) GROUP BY key",
            keys,
        ).fetchall()
    return dict(rows)


def _calls_this_minute(sandbox_server: Any) -> int:
    credentials = sandbox_server.credentials["partner-acme"]
    admin = novacron.Client(
        SDKConfig(
            base_url=sandbox_server.url,
            partner_id="partner-acme",
            api_key=credentials["api_key"],
            api_secret=credentials["api_secret"],
        )
    )
    quotas = {quota.name: quota for quota in admin.get_quotas()}
    return int(quotas["api_calls_per_minute"].used)


def test_a_bulk_stop_keeps_its_budget_share_and_a_resumed_item_is_not_sent_twice(
    acme, operator, sandbox_server, monkeypatch, settings
):
    settings.JOBS_CONCURRENCY = 4
    queue: list[tuple[str, int]] = []
    monkeypatch.setattr(services, "queue_advance", lambda pk, countdown=0: queue.append(("advance", pk)))
    monkeypatch.setattr(services, "_queue_item", lambda pk, countdown=0, tries=0: queue.append(("item", pk)))
    monkeypatch.setattr("jobs.publishing.job_changed_soon", lambda job: None)
    running = list(VM.objects.filter(partner=acme, status="running").order_by("vm_id")[:12])
    assert len(running) == 12
    job = services.job_create(
        partner=acme, user=operator, kind="stop", vms=running, filters={}, selection="picked"
    )
    client = partner_client(acme, max_retries=0)
    # 120 calls a minute for the jobs: one every 0.5 s, whichever item makes it.
    pacer = JobsPacer(partner=acme, share=0.12, limit_per_minute=1000)
    [killed, *_] = services.job_advance(job.pk)
    item = JobItem.objects.get(pk=killed)
    client.stop_vm(item.vm_id, idempotency_key=item.request_key)  # sent, then the worker died
    queue.append(("item", killed))  # its task is delivered again (late acks)

    calls_before, started = _calls_this_minute(sandbox_server), time.monotonic()
    while queue:
        task, pk = queue.pop(0)
        if task == "advance":
            services.job_advance(pk)
        else:
            services.item_run(pk, client=client, pacer=pacer)
    elapsed = time.monotonic() - started
    calls = _calls_this_minute(sandbox_server) - calls_before - 1  # less the quota read itself

    assert Job.objects.get(pk=job.pk).status == Job.Status.FINISHED
    assert set(JobItem.objects.filter(job=job).values_list("status", flat=True)) == {"done"}
    keys = [item.request_key for item in JobItem.objects.filter(job=job)]
    assert set(_sandbox_keys(sandbox_server, keys).values()) == {1}  # one request per VM at NovaCron
    assert len(_sandbox_keys(sandbox_server, keys)) == 12
    # The sandbox counted the job's 12 requests (unless its minute turned meanwhile), paced 0.5 s apart.
    assert calls <= 12
    assert elapsed >= 11 * pacer.interval * 0.9
