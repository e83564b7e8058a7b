"""The migration planner: durations from link speed or from the partner's own history (and which),
downtime and convergence risk, the target's capacity, the order and the wall-clock total."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from jobs import planner
from jobs.planner import GIB, ClusterFacts, PastMigration, VMFacts
from tests.factories import T0, make_cluster, make_migration, make_vm

SOURCE = ClusterFacts("cl-a", "A", "aws", "us-east-1", 10_000, 512, 100, 2048, 400)
TARGET = ClusterFacts("cl-b", "B", "aws", "us-east-1", 10_000, 512, 100, 2048, 400)
FAR = ClusterFacts("cl-c", "C", "aws", "eu-west-1", 10_000, 512, 100, 2048, 400)
CLUSTERS = {c.cluster_id: c for c in (SOURCE, TARGET, FAR)}


def _vm(n: int, memory: int = 8, disk: int = 100, cpus: int = 2, cluster: str = "cl-a") -> VMFacts:
    return VMFacts(f"vm-{n}", f"vm-{n}", cluster, cpus, memory, disk)


def _past(n: int, seconds: float, gb: float, **fields: object) -> PastMigration:
    values: dict[str, object] = {
        "vm_id": f"old-{n}",
        "source_cluster": "cl-a",
        "target_cluster": "cl-b",
        "migration_type": "live",
        "seconds": seconds,
        "bytes_total": int(gb * GIB),
        "memory_gb": 8,
        "disk_size_gb": 100,
        "transfer_rate_mbps": 20_000.0,
    }
    return PastMigration(**{**values, **fields})  # type: ignore[arg-type]


def test_without_history_the_estimate_is_from_the_link_and_says_so():
    plan = planner.plan([_vm(1)], target=TARGET, clusters=CLUSTERS)
    (estimate,) = plan.estimates

    assert estimate.basis == "link" and "10000 Mbit/s" in estimate.basis_detail
    # 8 GB of memory + half of 100 GB of disk over 60% of 10 Gbit/s, plus the fixed allowance.
    copy = (8 + 50) * GIB * 8 / (10_000e6 * 0.6)
    assert copy + 30 < estimate.seconds < copy + 30 + 10
    assert plan.bases == {"link": 1}


def test_a_longer_route_or_a_bigger_vm_takes_longer():
    near = planner.plan([_vm(1)], target=TARGET, clusters=CLUSTERS).estimates[0]
    far = planner.plan([_vm(1)], target=FAR, clusters=CLUSTERS).estimates[0]
    big = planner.plan([_vm(1, memory=64, disk=2000)], target=TARGET, clusters=CLUSTERS).estimates[0]

    assert far.route == "cross_region" and far.seconds > 2 * near.seconds
    assert big.seconds > 10 * near.seconds


def test_history_on_similar_routes_is_fitted_and_used_instead_of_the_link():
    # Past moves on this route: 10 s fixed + 1 s per GB, whatever the link says.
    history = [_past(n, 10 + gb, gb) for n, gb in enumerate((20, 40, 60, 80))]
    plan = planner.plan([_vm(1, memory=8, disk=100)], target=TARGET, clusters=CLUSTERS, history=history)
    (estimate,) = plan.estimates

    assert estimate.basis == "history" and "4 finished live migrations on this route" in estimate.basis_detail
    # The copied share of a disk, learnt from the history: (bytes - memory) / disk.
    share = sorted(((gb - 8) / 100) for gb in (20, 40, 60, 80))
    expected_gb = 8 + 100 * (share[1] + share[2]) / 2
    assert estimate.seconds == pytest.approx(10 + expected_gb, rel=0.02)


def test_history_of_another_kind_of_route_or_type_is_not_used():
    history = [_past(n, 10 + gb, gb, target_cluster="cl-c") for n, gb in enumerate((20, 40, 60))]
    cold = [_past(n, 10 + gb, gb, migration_type="cold") for n, gb in enumerate((20, 40, 60))]

    assert (
        planner.plan([_vm(1)], target=TARGET, clusters=CLUSTERS, history=history).estimates[0].basis == "link"
    )
    assert planner.plan([_vm(1)], target=TARGET, clusters=CLUSTERS, history=cold).estimates[0].basis == "link"


def test_a_vm_that_dirties_memory_as_fast_as_the_link_is_flagged_and_planned_last():
    history = [
        _past(1, 60, 50, vm_id="vm-1", dirty_rate_mbps=19_000.0),  # 0.95 of its rate
        _past(2, 60, 50, vm_id="vm-2", dirty_rate_mbps=400.0),
    ]
    plan = planner.plan(
        [_vm(1, memory=4, disk=20), _vm(2, memory=64, disk=500), _vm(3, memory=16, disk=100)],
        target=TARGET,
        clusters=CLUSTERS,
        history=history,
        concurrency=2,
    )
    by_id = {e.vm.vm_id: e for e in plan.estimates}

    assert by_id["vm-1"].risk == "high" and not by_id["vm-1"].converges
    assert by_id["vm-2"].risk == "low" and by_id["vm-3"].risk == "unknown"
    assert [e.vm.vm_id for e in plan.estimates][-1] == "vm-1"  # risky last, whatever its size
    assert by_id["vm-1"].downtime_seconds > by_id["vm-2"].downtime_seconds
    assert plan.high_risk == 1


def test_the_total_packs_the_order_into_migration_concurrent_slots():
    vms = [_vm(n, memory=4, disk=10 * n) for n in range(1, 6)]
    one = planner.plan(vms, target=TARGET, clusters=CLUSTERS, concurrency=1)
    two = planner.plan(vms, target=TARGET, clusters=CLUSTERS, concurrency=2)

    assert [e.vm.vm_id for e in one.estimates] == [f"vm-{n}" for n in range(1, 6)]  # short first
    assert one.total_seconds == pytest.approx(sum(e.seconds for e in one.estimates))
    assert max(e.seconds for e in two.estimates) <= two.total_seconds < one.total_seconds
    starts = sorted(e.start_offset for e in two.estimates)
    assert starts[:2] == [0.0, 0.0] and starts[2] > 0


def test_a_plan_that_overcommits_the_target_is_refused_with_the_figures():
    small = ClusterFacts("cl-b", "B", "aws", "us-east-1", 10_000, 16, 10, 64, 40)
    plan = planner.plan(
        [_vm(1, memory=16, cpus=4), _vm(2, memory=16, cpus=4)], target=small, clusters=CLUSTERS
    )

    assert (
        plan.capacity is not None and plan.capacity.vcpus_after == 18 and plan.capacity.memory_gb_after == 72
    )
    assert "vCPUs: 18 of 16" in plan.refusal and "memory: 72 GB of 64 GB" in plan.refusal
    fits = planner.plan([_vm(1, memory=16, cpus=4)], target=small, clusters=CLUSTERS)
    assert fits.refusal == ""


def test_cold_downtime_is_most_of_the_move():
    estimate = planner.plan([_vm(1)], target=TARGET, clusters=CLUSTERS, migration_type="cold").estimates[0]
    assert estimate.downtime_seconds > 0.5 * estimate.seconds


# --- from the cache, on the page and in the preview ---------------------------------------------


def _cache(partner, *, target_vcpus: int = 512) -> None:
    for cid in ("cl-aws-use1-a", "cl-aws-use1-b"):
        cluster = make_cluster(partner, cid, "aws", "us-east-1")
        cluster.link_speed_mbps = 10_000
        cluster.capacity = {
            "vcpus_total": target_vcpus,
            "vcpus_used": 8,
            "memory_gb_total": 1024,
            "memory_gb_used": 32,
        }
        cluster.save()
    for n in range(1, 4):
        make_vm(partner, n)
    make_vm(partner, 9, status="stopped", cluster="cl-aws-use1-b")  # already there
    for n, gb in enumerate((20, 40, 60), start=1):
        make_migration(
            partner,
            f"mig-0000{n}",
            f"vm-0000{n}",
            status="completed",
            migration_type="live",
            started_at=T0,
            finished_at=T0 + timedelta(seconds=10 + gb),
            bytes_total=gb * GIB,
        )


def test_the_plan_page_plans_from_the_partners_history(partner, operator, grant):
    _cache(partner)
    grant(operator, "openid profile email vm:read migration:execute")
    client = Client()
    client.force_login(operator)

    page = client.get(
        "/jobs/plan/", {"selection": "filter", "target_cluster": "cl-aws-use1-b"}
    ).content.decode()

    assert 'id="migration-plan"' in page and 'data-refused="false"' in page
    assert page.count('data-basis="history"') == 3  # the VM already on the target is not planned
    assert "your finished migrations on similar routes: 3" in page
    assert "14 of 512 vCPUs" in page


def test_a_viewer_may_not_plan(partner, viewer):
    client = Client()
    client.force_login(viewer)
    assert client.get("/jobs/plan/", {"target_cluster": "cl-aws-use1-b"}).status_code == 403


def test_the_migrate_preview_shows_the_plan_and_refuses_an_overcommitting_job(
    partner, operator, grant, runner
):
    from jobs.models import Job

    _cache(partner, target_vcpus=10)
    grant(operator, "openid profile email vm:read vm:write migration:execute")
    client = Client()
    client.force_login(operator)
    form = {
        "action": "migrate",
        "selection": "filter",
        "target_cluster": "cl-aws-use1-b",
        "migration_type": "live",
    }

    preview = client.get("/jobs/new/", form).content.decode()
    assert 'id="migration-plan"' in preview and 'data-refused="true"' in preview
    assert "vCPUs: 14 of 10" in preview

    key = (
        client.get("/jobs/new/", form)
        .content.decode()
        .split('name="idempotency_key" value="')[1]
        .split('"')[0]
    )
    answer = client.post("/jobs/new/", {**form, "idempotency_key": key})
    assert answer.status_code == 200 and b"would overcommit" in answer.content
    assert not Job.objects.exists()
