from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from novacron import Client, VMListOptions, VMSpec
from sdk_support import API, VM_JSON, page_body


def query_of(call: responses.Call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query)


def vm(number: int, **changes: object) -> dict:
    return {**VM_JSON, "vm_id": f"vm-{number}", **changes}


def test_it_lists_vms_with_the_reference_filters(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms", json=page_body([vm(1)], limit=100, total=1))

    page = client.list_vms(
        status="running",
        tags={"env": "production", "app": "web"},
        cloud_provider="aws",
        region="us-east-1",
        cluster="cluster-1",
        q="web",
        updated_since=datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
        include_deleted=True,
        limit=100,
    )

    assert query_of(api.calls[0]) == [
        ("status", "running"),
        ("cloud_provider", "aws"),
        ("region", "us-east-1"),
        ("cluster", "cluster-1"),
        ("q", "web"),
        ("tag", "app:web"),
        ("tag", "env:production"),
        ("updated_since", "2026-01-15T10:00:00Z"),
        ("include_deleted", "true"),
        ("page", "1"),
        ("limit", "100"),
    ]
    assert page.total == 1
    assert page.data[0].tags == {"app": "web", "env": "prod"}
    assert page.data[0].created_at == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


def test_keyword_filters_override_an_options_object(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms", json=page_body([]))

    client.list_vms(VMListOptions(status="stopped", region="eu-west-1"), status="running")

    assert ("status", "running") in query_of(api.calls[0])
    assert ("region", "eu-west-1") in query_of(api.calls[0])


def test_an_unknown_filter_is_a_type_error(client: Client) -> None:
    with pytest.raises(TypeError, match="colour"):
        client.list_vms(colour="blue")


def test_list_vms_paginated_returns_the_vms_and_whether_more_exist(
    client: Client, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/vms", json=page_body([vm(3), vm(4)], page=2, limit=2, total=5, has_more=True))

    vms, has_more = client.list_vms_paginated(2, 2)

    assert [v.vm_id for v in vms] == ["vm-3", "vm-4"]
    assert has_more is True
    assert ("page", "2") in query_of(api.calls[0]) and ("limit", "2") in query_of(api.calls[0])


def test_iter_vms_walks_every_page_keeping_the_filters(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms", json=page_body([vm(1), vm(2)], page=1, limit=2, total=5, has_more=True))
    api.get(f"{API}/vms", json=page_body([vm(3), vm(4)], page=2, limit=2, total=5, has_more=True))
    api.get(f"{API}/vms", json=page_body([vm(5)], page=3, limit=2, total=5, has_more=False))

    ids = [v.vm_id for v in client.iter_vms(status="running", limit=2)]

    assert ids == ["vm-1", "vm-2", "vm-3", "vm-4", "vm-5"]
    assert [dict(query_of(c))["page"] for c in api.calls] == ["1", "2", "3"]
    assert all(dict(query_of(c))["status"] == "running" for c in api.calls)


def test_auto_paging_stops_on_an_empty_page_that_claims_more(
    client: Client, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/vms", json=page_body([], has_more=True))

    assert list(client.list_vms().auto_paging_iter()) == []


def test_tombstones_are_listed_as_deleted_vms(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms", json=page_body([vm(9, status="deleted", deleted_at="2026-01-16T00:00:00Z")]))

    (tombstone,) = client.list_vms(updated_since=datetime(2026, 1, 1, tzinfo=UTC)).data

    assert tombstone.is_deleted
    assert tombstone.deleted_at == datetime(2026, 1, 16, tzinfo=UTC)


def test_it_creates_a_vm_from_a_spec(client: Client, api: responses.RequestsMock) -> None:
    api.post(f"{API}/vms", status=201, json=vm(7, status="provisioning"))

    created = client.create_vm(
        VMSpec(
            name="web-server-01",
            template="ubuntu-22.04",
            cpu_cores=4,
            memory_gb=16,
            disk_size_gb=100,
            network_id="net-12345",
            cloud_provider="aws",
            region="us-east-1",
            tags={"app": "web", "env": "prod"},
        )
    )

    assert json.loads(api.calls[0].request.body) == {
        "name": "web-server-01",
        "template": "ubuntu-22.04",
        "cpu_cores": 4,
        "memory_gb": 16,
        "disk_size_gb": 100,
        "network_id": "net-12345",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "tags": {"app": "web", "env": "prod"},
    }
    assert created.status == "provisioning"


def test_it_gets_starts_stops_and_deletes_a_vm(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms/vm-1", json=vm(1))
    api.post(f"{API}/vms/vm-1/stop", json=vm(1, status="stopped"))
    api.post(f"{API}/vms/vm-1/start", json=vm(1, status="running"))
    api.delete(f"{API}/vms/vm-1", status=204)

    assert client.get_vm("vm-1").ip_address == "10.0.0.4"
    assert client.stop_vm("vm-1").status == "stopped"
    assert client.start_vm("vm-1").status == "running"
    assert client.delete_vm("vm-1") is None
    assert [c.request.method for c in api.calls] == ["GET", "POST", "POST", "DELETE"]


def test_it_lists_clusters_with_their_capacity(client: Client, api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/clusters",
        json={
            "data": [
                {
                    "cluster_id": "cluster-456",
                    "name": "us-east-b",
                    "cloud_provider": "aws",
                    "region": "us-east-1",
                    "status": "active",
                    "link_speed_mbps": 10000,
                    "capacity": {
                        "vcpus_total": 512,
                        "vcpus_used": 100,
                        "memory_gb_total": 2048,
                        "memory_gb_used": 512,
                    },
                }
            ]
        },
    )

    (cluster,) = client.list_clusters()

    assert cluster.cluster_id == "cluster-456"
    assert cluster.capacity.vcpus_total - cluster.capacity.vcpus_used == 412
