from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from novacron import Client, Metric, MetricsQuery

pytestmark = pytest.mark.integration


def test_built_in_series_come_back_for_the_window(acme: Client) -> None:
    vm = acme.list_vms(status="running", limit=1).data[0]
    end = datetime.now(UTC).replace(second=0, microsecond=0)

    result = acme.get_metrics(
        MetricsQuery(
            resource_id=vm.vm_id,
            metrics=["cpu_usage", "memory_usage"],
            start_time=end - timedelta(hours=1),
            end_time=end,
            interval="5m",
            aggregate="avg",
        )
    )

    cpu = result.get("cpu_usage")
    assert cpu is not None and cpu.unit == "percent"
    assert 10 <= len(cpu.points) <= 13
    assert all(0 <= p.value <= 100 and p.timestamp.tzinfo is not None for p in cpu.points)
    assert result.get("memory_usage") is not None


def test_a_custom_metric_sent_is_served_back(acme: Client) -> None:
    vm = acme.list_vms(status="running", limit=1).data[0]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)

    stored = acme.send_metric(
        Metric(
            name="custom.backup.duration",
            value=125.5,
            unit="seconds",
            timestamp=at,
            tags={"backup_type": "incremental", "vm_id": vm.vm_id},
        )
    )
    result = acme.get_metrics(
        MetricsQuery(
            resource_id=vm.vm_id,
            metrics=["custom.backup.duration"],
            start_time=at - timedelta(minutes=5),
            end_time=at + timedelta(minutes=5),
            interval="1m",
            aggregate="max",
        )
    )

    assert stored.name == "custom.backup.duration"
    series = result.get("custom.backup.duration")
    assert series is not None
    assert 125.5 in [p.value for p in series.points]
