"""The sync against the real sandbox: the contract as NovaCron serves it, not as our fakes imagine it."""

from __future__ import annotations

from typing import Any

import novacron
import pytest
from novacron.config import SDKConfig

from partners.models import Partner, Quota
from vms import sync
from vms.models import VM, Cluster, SyncRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(sandbox_server: Any, settings: Any) -> Partner:
    settings.NOVACRON_API_URL = sandbox_server.url
    credentials = sandbox_server.credentials["partner-acme"]
    return Partner.objects.create(
        partner_id="partner-acme",
        name="Acme",
        tier="gold",
        api_key=credentials["api_key"],
        api_secret=credentials["api_secret"],
    )


@pytest.fixture
def novacron_admin(sandbox_server: Any) -> novacron.Client:
    credentials = sandbox_server.credentials["partner-acme"]
    return novacron.Client(
        SDKConfig(
            base_url=sandbox_server.url,
            partner_id="partner-acme",
            api_key=credentials["api_key"],
            api_secret=credentials["api_secret"],
        )
    )


def test_a_full_then_incremental_sync_mirrors_the_sandbox(acme, novacron_admin):
    partner_run = sync.sync_partner(partner=acme)
    full = sync.sync_vms_incremental(partner=acme)  # the first run is a full one

    assert partner_run.status == SyncRun.Status.SUCCEEDED, partner_run.error
    assert full.status == SyncRun.Status.SUCCEEDED and full.kind == SyncRun.Kind.VMS_FULL, full.error
    remote = novacron_admin.list_vms(limit=1)
    assert VM.objects.filter(partner=acme).count() == remote.total
    assert Cluster.objects.filter(partner=acme).exists()
    assert set(Quota.objects.filter(partner=acme).values_list("name", flat=True)) >= {"vm_create_per_day"}
    assert Partner.objects.get(pk=acme.pk).rate_limit_limit

    running = next(novacron_admin.iter_vms(status="running"))
    novacron_admin.stop_vm(running.vm_id)
    doomed = next(vm for vm in novacron_admin.iter_vms(status="stopped") if vm.vm_id != running.vm_id)
    novacron_admin.delete_vm(doomed.vm_id)

    incremental = sync.sync_vms_incremental(partner=acme)

    assert incremental.status == SyncRun.Status.SUCCEEDED, incremental.error
    assert incremental.kind == SyncRun.Kind.VMS_INCREMENTAL
    assert VM.objects.get(partner=acme, vm_id=running.vm_id).status == "stopped"
    assert not VM.objects.filter(partner=acme, vm_id=doomed.vm_id).exists()
    assert incremental.items < full.items
