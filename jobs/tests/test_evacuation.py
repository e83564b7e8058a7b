"""Evacuate a cluster: the placement (spread by utilisation, biggest first, the person's edits), the
reasons a VM stays, capacity and overcommit; the page's roles, tenancy, and one job per form."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from jobs import services
from jobs.evacuation import EXCLUDE, evacuate
from jobs.models import Job, JobItem
from jobs.planner import ClusterFacts, VMFacts
from partners.models import Quota
from tests.factories import T0, form_key, make_cluster, make_migration, make_vm
from vms.models import Migration

SOURCE = ClusterFacts("cl-s", "S", "aws", "us-east-1", 10_000, 100, 60, 400, 240)
A = ClusterFacts("cl-a", "A", "aws", "us-east-1", 10_000, 100, 20, 400, 80)
B = ClusterFacts("cl-b", "B", "aws", "us-east-1", 10_000, 100, 0, 400, 0)
FAR = ClusterFacts("cl-far", "FAR", "aws", "eu-west-1", 10_000, 1000, 0, 4000, 0)
OTHER_CLOUD = ClusterFacts("cl-gcp", "GCP", "gcp", "us-east-1", 10_000, 1000, 0, 4000, 0)
CLUSTERS = {c.cluster_id: c for c in (SOURCE, A, B, FAR, OTHER_CLOUD)}


def _vm(n: int, cpus: int = 10, memory: int = 40, disk: int = 20) -> VMFacts:
    return VMFacts(f"vm-{n}", f"vm-{n}", "cl-s", cpus, memory, disk)


def _targets(plan: Any) -> dict[str, str]:
    return {p.vm.vm_id: p.target.cluster_id for p in plan.moving}


# --- the planner -----------------------------------------------------------------------------------


def test_vms_spread_to_the_least_used_cluster_of_the_same_cloud_and_region():
    plan = evacuate([_vm(n) for n in range(1, 5)], source=SOURCE, clusters=CLUSTERS)

    # B starts empty, A at 20%: B takes the first two, then they alternate as they even out.
    assert sorted(_targets(plan).values()) == ["cl-a", "cl-b", "cl-b", "cl-b"]
    loads = {load.cluster.cluster_id: load for load in plan.loads}
    assert loads["cl-a"].percent_after == loads["cl-b"].percent_after == 30
    assert set(loads) == {"cl-a", "cl-b"}  # never another region or cloud, never the source
    assert plan.refusal == "" and not plan.staying
    assert plan.source_after == (20, 80)


def test_the_biggest_vm_is_placed_first():
    small_a = ClusterFacts("cl-a", "A", "aws", "us-east-1", 10_000, 100, 0, 400, 0)
    clusters = {**CLUSTERS, "cl-a": small_a}
    vms = [_vm(1, cpus=2, memory=8), _vm(2, cpus=16, memory=200), _vm(3, cpus=2, memory=8)]

    plan = evacuate(vms, source=SOURCE, clusters=clusters)

    # The big one first (to A, the tie broken by name), the small ones then to B, the emptier.
    assert _targets(plan) == {"vm-2": "cl-a", "vm-1": "cl-b", "vm-3": "cl-b"}


def test_a_vm_without_a_feasible_target_stays_with_its_reason():
    tight = ClusterFacts("cl-a", "A", "aws", "us-east-1", 10_000, 100, 96, 400, 100)
    full = ClusterFacts("cl-b", "B", "aws", "us-east-1", 10_000, 100, 100, 400, 0)
    clusters = {c.cluster_id: c for c in (SOURCE, tight, full, FAR)}
    vms = [_vm(1, cpus=8, memory=8), _vm(2, cpus=2, memory=8), _vm(3), _vm(4)]
    statuses = {"vm-3": "error", "vm-4": "migrating"}

    plan = evacuate(vms, source=SOURCE, clusters=clusters, statuses=statuses)
    staying = {p.vm.vm_id: p for p in plan.staying}

    assert _targets(plan) == {"vm-2": "cl-a"}
    assert staying["vm-1"].code == "no_capacity"
    assert "room for 8 vCPUs and 8 GB" in staying["vm-1"].reason
    assert "A, has 4 vCPUs" in staying["vm-1"].reason  # the emptiest, when its turn came
    assert (staying["vm-3"].code, staying["vm-3"].reason) == (
        "state",
        "A VM that is error cannot be migrated.",
    )
    assert staying["vm-4"].code == "migrating"
    assert not staying["vm-3"].editable and staying["vm-1"].editable
    assert plan.skips["vm-1"][0] == "no_capacity"

    alone = evacuate([_vm(1)], source=FAR, clusters={"cl-far": FAR, "cl-a": A})
    assert alone.staying[0].code == "no_cluster" and "aws eu-west-1" in alone.staying[0].reason
    inactive = evacuate([_vm(1)], source=SOURCE, clusters=CLUSTERS, inactive=["cl-a", "cl-b"])
    assert inactive.staying[0].code == "no_cluster"


def test_the_greedy_never_overcommits_and_a_choice_that_would_is_refused():
    room_for_two = ClusterFacts("cl-a", "A", "aws", "us-east-1", 10_000, 20, 0, 80, 0)
    clusters = {c.cluster_id: c for c in (SOURCE, room_for_two)}
    vms = [_vm(n) for n in range(1, 4)]

    plan = evacuate(vms, source=SOURCE, clusters=clusters)
    assert len(plan.moving) == 2 and plan.staying[0].code == "no_capacity" and plan.refusal == ""
    assert plan.loads[0].vcpus_used == 20  # filled exactly, not past

    # The one left is offered A as not fitting; the person's own choice goes first, so sending it
    # there moves it, and the greedy leaves another behind instead.
    stuck = plan.staying[0].vm.vm_id
    assert [option.fits for option in plan.staying[0].options] == [False]
    pinned = evacuate(vms, source=SOURCE, clusters=clusters, choices={stuck: "cl-a"})
    assert stuck in _targets(pinned) and len(pinned.moving) == 2 and pinned.refusal == ""
    # Sending all three there overcommits it: the plan is refused.
    forced = evacuate(
        vms, source=SOURCE, clusters=clusters, choices=dict.fromkeys(_targets(plan) | {stuck: ""}, "cl-a")
    )
    assert "overcommit A (vCPUs: 30 of 20; memory: 120 GB of 80 GB)" in forced.refusal
    assert forced.loads[0].overcommitted and len(forced.moving) == 3

    # Leaving one out frees its room: the stuck one moves instead.
    moved = next(p.vm.vm_id for p in plan.moving)
    edited = evacuate(vms, source=SOURCE, clusters=clusters, choices={moved: EXCLUDE})
    assert stuck in _targets(edited) and moved not in _targets(edited)
    assert {p.vm.vm_id: p.code for p in edited.staying} == {moved: "excluded"}


def test_a_choice_moves_a_vm_where_the_person_said_and_the_rest_spread_around_it():
    vms = [_vm(n) for n in range(1, 5)]

    plan = evacuate(vms, source=SOURCE, clusters=CLUSTERS, choices={"vm-1": "cl-a", "vm-2": "cl-far"})

    placed = {p.vm.vm_id: p for p in plan.moving}
    assert placed["vm-1"].target == A and placed["vm-1"].chosen
    assert (
        placed["vm-2"].target is not None and placed["vm-2"].target.cluster_id != "cl-far"
    )  # not a candidate
    assert not placed["vm-2"].chosen


def test_durations_are_the_planners_and_the_total_runs_within_the_concurrency():
    vms = [_vm(n) for n in range(1, 5)]

    one = evacuate(vms, source=SOURCE, clusters=CLUSTERS, concurrency=1)
    four = evacuate(vms, source=SOURCE, clusters=CLUSTERS, concurrency=4)

    seconds = [p.estimate.seconds for p in one.moving if p.estimate]
    assert len(seconds) == 4 and all(s > 30 for s in seconds)
    assert one.total_seconds == pytest.approx(sum(seconds))
    assert four.total_seconds == pytest.approx(max(seconds))
    assert [p.estimate.order for p in one.moving if p.estimate] == [1, 2, 3, 4]


# --- the pages ---------------------------------------------------------------------------------------


def _capacity(cluster_id: str, partner: Any, vcpus: tuple[int, int], memory: tuple[int, int]) -> None:
    partner.clusters.filter(cluster_id=cluster_id).update(
        capacity={
            "vcpus_total": vcpus[0],
            "vcpus_used": vcpus[1],
            "memory_gb_total": memory[0],
            "memory_gb_used": memory[1],
        }
    )


@pytest.fixture
def fleet(partner: Any) -> None:
    for cluster_id in ("cl-aws-use1-a", "cl-aws-use1-b", "cl-aws-use1-c"):
        make_cluster(partner, cluster_id, "aws", "us-east-1")
    make_cluster(partner, "cl-gcp-1", "gcp", "us-central1")
    _capacity("cl-aws-use1-a", partner, (100, 12), (400, 48))
    _capacity("cl-aws-use1-b", partner, (100, 0), (400, 0))
    _capacity("cl-aws-use1-c", partner, (100, 0), (400, 0))
    for n in range(1, 5):
        make_vm(partner, n, status="running", cpu_cores=2, memory_gb=8)
    make_vm(partner, 5, status="error")
    make_vm(partner, 6, status="running", cluster="cl-aws-use1-b")  # not on the cluster evacuated
    make_migration(partner, "mig-00009", "vm-00004", status="in_progress")
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=2, used=1, remaining=1, synced_at=T0
    )


def _client(person: Any, grant: Any, scopes: str = "openid profile email vm:read vm:write migration:execute"):
    grant(person, scopes)
    client = Client()
    client.force_login(person)
    return client


URL = "/jobs/evacuate/cl-aws-use1-a/"


@pytest.mark.django_db
def test_the_plan_page_lists_each_vm_with_its_target_or_its_reason(partner, operator, grant, fleet):
    page = _client(operator, grant).get(URL).content.decode()

    assert 'data-vm-id="vm-00001" data-target="cl-aws-use1-' in page
    assert 'data-vm-id="vm-00005" data-target="" data-code="state"' in page
    assert 'data-vm-id="vm-00004" data-target="" data-code="migrating"' in page
    assert 'data-vm-id="vm-00006"' not in page
    assert 'data-cluster-id="cl-gcp-1"' not in page  # another cloud is never a target
    assert 'name="target-vm-00001"' in page and 'value="exclude"' in page
    assert "2 at a time" in page
    assert not Job.objects.exists()
    # The entries: the jobs list and the VM list filtered to the cluster.
    client = _client(operator, grant)
    assert b'href="/jobs/evacuate/"' in client.get("/jobs/").content
    assert URL.encode() in client.get("/vms/?cluster=cl-aws-use1-a").content
    assert URL.encode() in client.get("/jobs/evacuate/").content


@pytest.mark.django_db(transaction=True)
def test_starting_it_makes_one_migrate_job_whose_items_carry_their_own_targets(
    partner, operator, grant, fleet, runner, fake_client
):
    client = _client(operator, grant)
    form = {"migration_type": "live", "verify_after_migration": "1", **form_key()}

    first = client.post(URL, form)
    second = client.post(URL, form)  # a double click

    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    [job] = Job.objects.filter(partner=partner)
    assert job.kind == Job.Kind.MIGRATE and job.label == "Evacuate cl-aws-use1-a"
    assert job.parameters["source_cluster"] == "cl-aws-use1-a" and "target_cluster" not in job.parameters
    items = {item.vm_id: item for item in JobItem.objects.filter(job=job)}
    moving = {vm: item.target_cluster for vm, item in items.items() if item.status == "pending"}
    assert set(moving) == {"vm-00001", "vm-00002", "vm-00003"}
    assert set(moving.values()) == {"cl-aws-use1-b", "cl-aws-use1-c"}  # spread over both
    assert (items["vm-00005"].status, items["vm-00005"].skip_code) == ("skipped", "state")
    assert items["vm-00004"].skip_code == "migrating"

    # The engine runs it, each migration to the item's own target, within the one free slot.
    services.job_advance(job.pk)
    assert JobItem.objects.filter(job=job, status="running").count() == 1
    runner.drain()
    started = dict(
        Migration.objects.filter(partner=partner)
        .exclude(migration_id="mig-00009")
        .values_list("source_vm_id", "target_cluster")
    )
    assert started == {vm: target for vm, target in moving.items() if vm in started} and len(started) == 1

    detail = client.get(f"/jobs/{job.job_id}/").content.decode()
    assert "Evacuate cl-aws-use1-a" in detail and "→ cl-aws-use1-" in detail
    assert "Evacuate cl-aws-use1-a" in client.get("/jobs/").content.decode()


@pytest.mark.django_db
def test_plan_again_applies_the_edits_and_an_overcommitting_choice_is_refused(
    partner, operator, grant, fleet
):
    client = _client(operator, grant)
    _capacity("cl-aws-use1-c", partner, (100, 99), (400, 399))

    edited = client.post(
        URL, {"replan": "1", "target-vm-00001": "exclude", "target-vm-00002": "cl-aws-use1-b", **form_key()}
    ).content.decode()
    assert 'data-vm-id="vm-00001" data-target="" data-code="excluded"' in edited
    assert 'data-vm-id="vm-00002" data-target="cl-aws-use1-b" data-code="" data-chosen="true"' in edited
    assert not Job.objects.exists()

    refused = client.post(URL, {"target-vm-00002": "cl-aws-use1-c", **form_key()})
    assert refused.status_code == 200 and not Job.objects.exists()
    assert "The plan would overcommit CL-AWS-USE1-C" in refused.content.decode()

    kept = client.post(URL, {"target-vm-00001": "exclude", **form_key()})
    assert kept.status_code == 302
    item = JobItem.objects.get(job__partner=partner, vm_id="vm-00001")
    assert (item.status, item.skip_code, item.skip_reason) == (
        "skipped",
        "excluded",
        "Left out of the evacuation.",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("operator", True), ("owner", True)])
def test_only_those_who_may_migrate_plan_or_start_an_evacuation(
    partner, grant, fleet, role, allowed, request
):
    client = _client(request.getfixturevalue(role), grant)

    page = client.get(URL)
    started = client.post(URL, form_key())

    assert page.status_code == (200 if allowed else 403)
    assert started.status_code == (302 if allowed else 403)
    assert Job.objects.filter(partner=partner).exists() == allowed


@pytest.mark.django_db
def test_without_the_migration_scope_the_plan_shows_but_nothing_starts(partner, operator, grant, fleet):
    client = _client(operator, grant, scopes="openid profile email vm:read vm:write")

    response = client.post(URL, form_key())

    assert response.status_code == 200 and not Job.objects.exists()
    assert b"needs your permission" in response.content


@pytest.mark.django_db
def test_another_partners_cluster_is_a_404(partner, other_partner, outsider, operator, grant, fleet):
    make_cluster(other_partner, "cl-globex-only", "aws", "us-east-1")
    client = _client(operator, grant)

    assert client.get("/jobs/evacuate/cl-globex-only/").status_code == 404
    assert client.post("/jobs/evacuate/cl-globex-only/", form_key()).status_code == 404
    # And the other partner, whose cache has no such cluster, cannot reach ours.
    theirs = _client(outsider, grant)
    assert theirs.get(URL).status_code == 404
    assert theirs.post(URL, form_key()).status_code == 404
    assert not Job.objects.exists()
