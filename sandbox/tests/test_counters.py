"""The sandbox's own counters (/sandbox/counters): API calls by method and refused, and the most
migrations active at once, per partner."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sandbox.core.models import Cluster, Partner
from sandbox.engine.counters import Counters, counters
from sandbox.tests.conftest import PartnerClient, make_vm

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters() -> Any:
    counters.reset()
    yield
    counters.reset()


def _report(partner_id: str = "partner-acme", **params: Any) -> dict[str, Any]:
    query = "&".join(f"{key}={value}" for key, value in {"partner": partner_id, **params}.items())
    response = Client().get(f"/sandbox/counters?{query}")
    assert response.status_code == 200
    return dict(response.json())


def test_calls_are_counted_by_method_and_refusals_apart(
    acme: Partner, acme_api: PartnerClient, clusters: list[Cluster]
) -> None:
    for _ in range(3):
        assert acme_api.get("/api/v1/vms").status_code == 200
    vm = make_vm(acme, clusters[0])
    assert acme_api.post(f"/api/v1/vms/{vm.vm_id}/stop").status_code == 200
    report = _report()
    assert report["calls"] == {"GET": 3, "POST": 1}
    assert report["refused"] == 0
    assert report["window"]["calls"] == 4
    assert report["window"]["peak_per_60s"] == {"all": 4, "GET": 3, "POST": 1}
    assert _report("partner-globex")["calls"] == {}

    Client().delete("/sandbox/counters")
    assert _report()["calls"] == {}


def test_a_rate_limited_call_is_counted_as_refused(acme_api: PartnerClient, settings: Any) -> None:
    settings.SANDBOX_RATE_LIMIT_SCALE = 0.001  # a bucket of a call or two
    statuses = [acme_api.get("/api/v1/clusters").status_code for _ in range(4)]
    assert 429 in statuses
    report = _report()
    assert report["calls"] == {"GET": statuses.count(200)} and report["refused"] == statuses.count(429)


def test_the_most_migrations_active_at_once(
    acme: Partner, acme_api: PartnerClient, clusters: list[Cluster]
) -> None:
    for n in range(2):
        vm = make_vm(acme, clusters[0], name=f"web-{n}")
        body = {"source_vm_id": vm.vm_id, "target_cluster": clusters[1].cluster_id, "migration_type": "live"}
        response = acme_api.post("/api/v1/migrations", body)
        assert response.status_code in (200, 201, 202), response.content
    assert _report()["active_migrations_peak"] == 2


def test_windows_count_the_busiest_stretch() -> None:
    made = Counters()
    for at in (0.0, 1.0, 2.0, 30.0, 65.0, 66.0):
        made.call("p", "POST", allowed=True, now=at)
    window = made.report("p")["window"]
    assert window["peak_per_60s"]["POST"] == 4  # 0, 1, 2 and 30
    assert window["peak_per_10s"]["POST"] == 3
    assert made.report("p", since=60.0)["window"]["calls"] == 2


def test_a_partner_must_be_named() -> None:
    assert Client().get("/sandbox/counters").status_code == 400
