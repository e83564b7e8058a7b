"""`python -m sandbox churn`: a known share of a partner's fleet changes, as the API would change it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sandbox.core.churn import vms_churn
from sandbox.core.models import VM, Cluster, Partner, PlatformEvent
from sandbox.tests.conftest import PartnerClient, make_vm


def test_it_changes_the_asked_number_of_vms_and_deletes_a_share(
    acme: Partner, globex: Partner, clusters: list[Cluster], acme_api: PartnerClient
) -> None:
    long_ago = timezone.now() - timedelta(days=3)
    for n in range(40):
        make_vm(acme, clusters[0], name=f"acme-{n:02d}", status="running" if n % 4 else "stopped")
    make_vm(globex, clusters[0], name="globex-01")
    VM.objects.update(updated_at=long_ago)

    report = vms_churn(partner=acme, count=20, delete_share=0.25, seed=7)

    assert (len(report.deleted), len(report.stopped) + len(report.started)) == (5, 15)
    changed = acme_api.get("/api/v1/vms", updated_since=(long_ago + timedelta(days=1)).isoformat()).json()
    assert changed["total"] == 20
    statuses = {vm["vm_id"]: vm["status"] for vm in changed["data"]}
    assert {statuses[vm_id] for vm_id in report.deleted} == {"deleted"}
    assert {statuses[vm_id] for vm_id in report.stopped} <= {"stopped"}
    assert {statuses[vm_id] for vm_id in report.started} <= {"running"}
    assert PlatformEvent.objects.filter(event_type="vm.deleted").count() == 5
    assert VM.objects.get(name="globex-01").updated_at == long_ago


def test_the_same_seed_picks_the_same_vms(acme: Partner, clusters: list[Cluster]) -> None:
    for n in range(30):
        make_vm(acme, clusters[0], name=f"acme-{n:02d}")

    first = vms_churn(partner=acme, count=5, delete_share=0, seed=3)
    again = vms_churn(partner=acme, count=5, delete_share=0, seed=3)

    assert sorted(first.stopped) == sorted(again.started)  # stopped the first time, started again
