from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import responses
from novacron import Client, Metric, MetricsQuery, MigrationSpec
from sdk_support import API, MIGRATION_JSON, START, page_body


def test_it_starts_a_migration_from_a_spec(client: Client, api: responses.RequestsMock) -> None:
    api.post(
        f"{API}/migrations", status=201, json={**MIGRATION_JSON, "status": "pending", "phase": "pre_check"}
    )

    started = client.start_migration(
        MigrationSpec(
            source_vm_id="vm-1", target_cluster="cluster-456", options={"downtime_window_minutes": 5}
        )
    )

    assert json.loads(api.calls[0].request.body) == {
        "source_vm_id": "vm-1",
        "target_cluster": "cluster-456",
        "migration_type": "live",
        "options": {"downtime_window_minutes": 5},
    }
    assert started.migration_id == "mig-789"
    assert not started.is_finished


def test_migration_status_carries_progress_and_live_metrics(
    client: Client, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/migrations/mig-789", json=MIGRATION_JSON)

    status = client.get_migration_status("mig-789")

    assert status.progress_percentage == 67.0
    assert status.bytes_transferred == 45678901234
    assert status.estimated_completion == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert status.metrics.transfer_rate_mbps == 850.0
    assert status.metrics.iteration == 3
    assert status.metrics.downtime_ms is None


def test_it_lists_migrations_by_status_and_vm(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/migrations", json=page_body([MIGRATION_JSON], limit=20))

    page = client.list_migrations(status="in_progress", vm_id="vm-1", limit=20)

    assert parse_qsl(urlsplit(api.calls[0].request.url).query) == [
        ("status", "in_progress"),
        ("vm_id", "vm-1"),
        ("page", "1"),
        ("limit", "20"),
    ]
    assert page.data[0].phase == "memory_precopy"


def test_it_cancels_a_migration(client: Client, api: responses.RequestsMock) -> None:
    api.post(f"{API}/migrations/mig-789/cancel", json={**MIGRATION_JSON, "status": "cancelled"})

    cancelled = client.cancel_migration("mig-789")

    assert cancelled.status == "cancelled"
    assert cancelled.is_finished


def test_it_queries_metric_series(client: Client, api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/metrics",
        json={
            "resource": "vm",
            "resource_id": "vm-1",
            "interval": "1m",
            "aggregate": "avg",
            "start": "2026-01-15T09:00:00Z",
            "end": "2026-01-15T10:00:00Z",
            "series": [
                {
                    "metric": "cpu_usage",
                    "unit": "percent",
                    "points": [{"timestamp": "2026-01-15T09:00:00Z", "value": 12}],
                }
            ],
        },
    )

    result = client.get_metrics(
        MetricsQuery(
            resource_id="vm-1",
            metrics=["cpu_usage", "memory_usage"],
            interval="1m",
            aggregate="avg",
            start_time=datetime(2026, 1, 15, 9, tzinfo=UTC),
            end_time=datetime(2026, 1, 15, 10, tzinfo=UTC),
        )
    )

    assert dict(parse_qsl(urlsplit(api.calls[0].request.url).query)) == {
        "resource": "vm",
        "resource_id": "vm-1",
        "metrics": "cpu_usage,memory_usage",
        "interval": "1m",
        "start": "2026-01-15T09:00:00Z",
        "end": "2026-01-15T10:00:00Z",
        "aggregate": "avg",
    }
    series = result.get("cpu_usage")
    assert series is not None and series.unit == "percent"
    assert series.points[0].value == 12.0
    assert series.points[0].timestamp == datetime(2026, 1, 15, 9, tzinfo=UTC)
    assert result.get("disk_io") is None


def test_it_sends_a_custom_metric(client: Client, api: responses.RequestsMock) -> None:
    stored = {
        "name": "custom.backup.duration",
        "value": 125.5,
        "unit": "seconds",
        "timestamp": "2026-01-15T10:00:00Z",
        "tags": {"vm_id": "vm-1"},
    }
    api.post(f"{API}/metrics", status=201, json=stored)

    metric = client.send_metric(
        Metric(
            name="custom.backup.duration",
            value=125.5,
            unit="seconds",
            timestamp=datetime(2026, 1, 15, 10, tzinfo=UTC),
            tags={"vm_id": "vm-1"},
        )
    )

    assert json.loads(api.calls[0].request.body) == stored
    assert metric.value == 125.5


def test_a_metric_without_a_timestamp_is_stamped_now(client: Client, api: responses.RequestsMock) -> None:
    api.post(
        f"{API}/metrics",
        status=201,
        json={"name": "m", "value": 1, "unit": "", "tags": {}, "timestamp": "2026-01-01T00:00:00Z"},
    )

    client.send_metric(Metric(name="m", value=1))

    sent = datetime.fromisoformat(json.loads(api.calls[0].request.body)["timestamp"])
    assert sent.tzinfo is not None
    assert sent.timestamp() > START - 86400 * 365
