"""VM endpoints: list filters and pagination, create, lifecycle, clusters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.core.models import VM, Cluster, Partner, PlatformEvent
from sandbox.core.services.vms import vms_finish_provisioning
from sandbox.tests.conftest import VM_SPEC, PartnerClient, make_vm

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(acme: Partner, globex: Partner, clusters: list[Cluster]) -> list[VM]:
    aws, gcp = clusters[0], clusters[4]
    vms = [
        make_vm(acme, aws, name="prod-web-01", tags={"env": "prod", "team": "web"}, age_days=5),
        make_vm(
            acme, aws, name="prod-db-01", tags={"env": "prod", "team": "data"}, age_days=4, status="stopped"
        ),
        make_vm(acme, gcp, name="dev-web-02", tags={"env": "dev", "team": "web"}, age_days=3),
        make_vm(acme, gcp, name="old-box", status="deleted", age_days=2),
        make_vm(globex, aws, name="globex-web", age_days=1),
    ]
    VM.objects.filter(name="old-box").update(deleted_at=timezone.now())
    return vms


def _names(response: object) -> list[str]:
    return [vm["name"] for vm in response.json()["data"]]


def test_it_lists_only_the_partners_live_vms_oldest_first(acme_api: PartnerClient, fleet: list[VM]) -> None:
    body = acme_api.get("/api/v1/vms").json()
    assert [vm["name"] for vm in body["data"]] == ["prod-web-01", "prod-db-01", "dev-web-02"]
    assert (body["page"], body["limit"], body["total"], body["has_more"]) == (1, 50, 3, False)


def test_it_paginates_with_a_stable_order(acme_api: PartnerClient, fleet: list[VM]) -> None:
    first = acme_api.get("/api/v1/vms", limit=2, page=1).json()
    second = acme_api.get("/api/v1/vms", limit=2, page=2).json()
    assert first["has_more"] and not second["has_more"]
    assert [v["name"] for v in first["data"] + second["data"]] == ["prod-web-01", "prod-db-01", "dev-web-02"]
    assert acme_api.get("/api/v1/vms", limit=501).status_code == 400


def test_it_filters_by_tags_status_cloud_and_name(acme_api: PartnerClient, fleet: list[VM]) -> None:
    both = acme_api.request("GET", "/api/v1/vms", query={"tag": ["team:web", "env:prod"]})
    assert _names(both) == ["prod-web-01"]
    assert _names(acme_api.get("/api/v1/vms", status="stopped")) == ["prod-db-01"]
    assert _names(acme_api.get("/api/v1/vms", cloud_provider="gcp")) == ["dev-web-02"]
    assert _names(acme_api.get("/api/v1/vms", region="us-east-1")) == ["prod-web-01", "prod-db-01"]
    assert _names(acme_api.get("/api/v1/vms", q="WEB")) == ["prod-web-01", "dev-web-02"]
    assert _names(acme_api.get("/api/v1/vms", cluster="cl-gcp-euw1-a")) == ["dev-web-02"]
    bad_tag = acme_api.get("/api/v1/vms", tag="nocolon")
    assert bad_tag.status_code == 400 and "tag" in bad_tag.json()["error"]["details"]["fields"]


def test_deleted_vms_appear_as_tombstones_on_request(acme_api: PartnerClient, fleet: list[VM]) -> None:
    assert "old-box" in _names(acme_api.get("/api/v1/vms", include_deleted="true"))
    since = (timezone.now() - timedelta(days=10)).isoformat()
    synced = acme_api.get("/api/v1/vms", updated_since=since).json()["data"]
    assert [v["name"] for v in synced][-1] == "old-box"
    assert synced[-1]["status"] == "deleted" and synced[-1]["deleted_at"] is not None


def test_it_creates_a_vm_that_becomes_running(
    acme_api: PartnerClient, clusters: list[Cluster], acme: Partner
) -> None:
    response = acme_api.post("/api/v1/vms", VM_SPEC)
    assert response.status_code == 201
    vm = response.json()
    assert (
        vm["status"] == "provisioning" and vm["vm_id"].startswith("vm-") and vm["cluster"] == "cl-aws-use1-a"
    )
    assert PlatformEvent.objects.filter(event_type="vm.created", data__vm_id=vm["vm_id"]).exists()
    vms_finish_provisioning(now=timezone.now() + timedelta(seconds=10))
    assert acme_api.get(f"/api/v1/vms/{vm['vm_id']}").json()["status"] == "running"


def test_it_rejects_a_cluster_outside_the_region(acme_api: PartnerClient, clusters: list[Cluster]) -> None:
    response = acme_api.post("/api/v1/vms", {**VM_SPEC, "cluster": "cl-gcp-euw1-a"})
    assert response.status_code == 400
    assert "cluster" in response.json()["error"]["details"]["fields"]


def test_it_refuses_a_vm_over_the_daily_quota(
    acme_api: PartnerClient, clusters: list[Cluster], acme: Partner
) -> None:
    acme.quota_limits = {**acme.quota_limits, "vm_create_per_day": 1}
    acme.save()
    assert acme_api.post("/api/v1/vms", VM_SPEC).status_code == 201
    refused = acme_api.post("/api/v1/vms", VM_SPEC)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] | {"reset_at": None} == {"quota": "vm_create_per_day", "limit": 1, "used": 1,
                                                     "requested": 1, "reset_at": None}  # fmt: skip
    assert PlatformEvent.objects.filter(event_type="quota.exceeded", partner=acme).count() == 1


def test_start_stop_and_delete_follow_the_lifecycle(acme_api: PartnerClient, fleet: list[VM]) -> None:
    running, stopped = fleet[0].vm_id, fleet[1].vm_id
    assert acme_api.post(f"/api/v1/vms/{running}/start").status_code == 409
    assert acme_api.post(f"/api/v1/vms/{running}/stop").json()["status"] == "stopped"
    assert acme_api.post(f"/api/v1/vms/{stopped}/start").json()["status"] == "running"
    assert acme_api.delete(f"/api/v1/vms/{running}").status_code == 204
    assert acme_api.get(f"/api/v1/vms/{running}").json()["status"] == "deleted"
    assert acme_api.delete(f"/api/v1/vms/{running}").status_code == 404
    kinds = set(PlatformEvent.objects.values_list("event_type", flat=True))
    assert {"vm.stopped", "vm.started", "vm.deleted"} <= kinds


def test_another_partners_vm_is_not_found(acme_api: PartnerClient, fleet: list[VM]) -> None:
    globex_vm = fleet[-1].vm_id
    assert acme_api.get(f"/api/v1/vms/{globex_vm}").status_code == 404
    assert acme_api.post(f"/api/v1/vms/{globex_vm}/stop").status_code == 404


def test_clusters_report_capacity_in_use(acme_api: PartnerClient, fleet: list[VM]) -> None:
    clusters = {c["cluster_id"]: c for c in acme_api.get("/api/v1/clusters").json()["data"]}
    assert len(clusters) == 8
    # Two acme VMs and one globex VM live there, 4 vCPUs each.
    assert clusters["cl-aws-use1-a"]["capacity"]["vcpus_used"] == 12
