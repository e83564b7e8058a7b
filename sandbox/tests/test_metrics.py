"""Generated series are deterministic and plausible; custom metrics are stored and served back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.core.models import VM, Cluster, Partner, PlatformEvent
from sandbox.core.services.alerts import cpu_alerts_scan
from sandbox.engine.metrics_gen import series_points
from sandbox.tests.conftest import PartnerClient, make_vm

pytestmark = pytest.mark.django_db
END = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def vm(acme: Partner, clusters: list[Cluster]) -> VM:
    return make_vm(acme, clusters[0], age_days=400)


def _query(api: PartnerClient, vm: VM, **params: str) -> object:
    base = {"resource": "vm", "resource_id": vm.vm_id, "metrics": "cpu_usage,memory_usage",
            "start": (END - timedelta(hours=6)).isoformat(), "end": END.isoformat(), "interval": "5m"}  # fmt: skip
    return api.get("/api/v1/metrics", **{**base, **params})


def test_the_same_query_gives_the_same_points(acme_api: PartnerClient, vm: VM) -> None:
    first, second = _query(acme_api, vm).json(), _query(acme_api, vm).json()
    assert first == second
    cpu = first["series"][0]
    assert cpu["metric"] == "cpu_usage" and cpu["unit"] == "percent" and len(cpu["points"]) == 72
    assert all(0 <= p["value"] <= 100 for p in cpu["points"])
    assert len({p["value"] for p in cpu["points"]}) > 30  # it moves


def test_series_differ_between_vms_and_metrics() -> None:
    window = {"start_epoch": 1_767_000_000, "end_epoch": 1_767_003_600, "interval": "1m", "aggregate": "avg"}
    assert series_points("vm-a", "cpu_usage", **window) != series_points("vm-b", "cpu_usage", **window)
    assert series_points("vm-a", "cpu_usage", **window) != series_points("vm-a", "disk_io", **window)


def test_max_is_never_below_avg(acme_api: PartnerClient, vm: VM) -> None:
    avg = _query(acme_api, vm, interval="1h", aggregate="avg").json()["series"][0]["points"]
    peak = _query(acme_api, vm, interval="1h", aggregate="max").json()["series"][0]["points"]
    assert len(avg) == len(peak) == 6
    assert all(p["value"] >= a["value"] for a, p in zip(avg, peak, strict=True))


def test_it_refuses_more_than_2000_points(acme_api: PartnerClient, vm: VM) -> None:
    response = _query(acme_api, vm, interval="1m", start=(END - timedelta(days=2)).isoformat())
    assert response.status_code == 400
    assert "interval" in response.json()["error"]["details"]["fields"]


def test_custom_metrics_are_served_back(acme_api: PartnerClient, vm: VM) -> None:
    for minute, value in ((1, 10.0), (2, 30.0), (7, 5.0)):
        stored = acme_api.post("/api/v1/metrics", {"name": "queue_depth", "value": value, "unit": "messages",
                                                   "timestamp": (END - timedelta(minutes=60 - minute)).isoformat(),
                                                   "tags": {"vm_id": vm.vm_id}})  # fmt: skip
        assert stored.status_code == 201 and stored.json()["name"] == "queue_depth"
    series = _query(acme_api, vm, metrics="queue_depth", start=(END - timedelta(hours=1)).isoformat()).json()[
        "series"
    ][0]
    assert series["unit"] == "messages"
    assert [p["value"] for p in series["points"]] == [20.0, 5.0]


def test_another_partners_vm_has_no_metrics(globex_api: PartnerClient, vm: VM) -> None:
    assert _query(globex_api, vm).status_code == 404


def test_a_hot_vm_raises_one_cpu_alert(acme: Partner, clusters: list[Cluster]) -> None:
    hot = make_vm(acme, clusters[0], tags={"sandbox.cpu": "hot"})
    make_vm(acme, clusters[0])
    assert cpu_alerts_scan() == 1
    assert cpu_alerts_scan() == 0
    alert = PlatformEvent.objects.get(event_type="alert.critical")
    assert alert.data["resource_id"] == hot.vm_id and alert.data["value"] > alert.data["threshold"]
