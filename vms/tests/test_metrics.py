from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from novacron.models import MetricsResult

from tests.factories import make_vm
from tests.fakes import ROOT, error_body
from vms import metrics

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def series_payload(metric: str, unit: str, count: int, step: timedelta = timedelta(minutes=1)) -> dict:
    return {
        "metric": metric,
        "unit": unit,
        "points": [
            {"timestamp": (START + i * step).isoformat(), "value": 10 + i % 7 + 0.12345} for i in range(count)
        ],
    }


def metrics_payload(count: int = 60, interval: str = "1m", aggregate: str = "avg") -> dict:
    return {
        "resource": "vm",
        "resource_id": "vm-00001",
        "interval": interval,
        "aggregate": aggregate,
        "start": START.isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
        "series": [
            series_payload("cpu_usage", "percent", count),
            series_payload("memory_usage", "percent", count),
            series_payload("disk_io", "MB/s", count),
            series_payload("network_in", "Mbit/s", count),
            series_payload("network_out", "Mbit/s", count),
        ],
    }


def test_each_range_keeps_its_series_between_sixty_and_two_thousand_points():
    for preset in metrics.RANGES.values():
        step = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}[preset.interval]
        points = preset.span.total_seconds() / step
        assert 60 <= points < 2000, preset


def test_the_window_ends_on_a_whole_minute():
    start, end = metrics.window("6h", now=datetime(2026, 1, 15, 10, 7, 31, 5000, tzinfo=UTC))

    assert end == datetime(2026, 1, 15, 10, 7, tzinfo=UTC)
    assert end - start == timedelta(hours=6)


def test_series_are_shaped_into_one_chart_js_config_per_chart():
    shaped = metrics.chart_data(MetricsResult.from_dict(metrics_payload(3)), range_key="1h", aggregate="max")

    assert [chart["key"] for chart in shaped["charts"]] == ["cpu", "memory", "disk", "network"]
    cpu = shaped["charts"][0]
    assert cpu["unit"] == "%" and not cpu["empty"]
    assert cpu["datasets"][0]["data"][0] == {"x": int(START.timestamp() * 1000), "y": 10.123}
    network = shaped["charts"][3]
    assert [dataset["label"] for dataset in network["datasets"]] == ["In", "Out"]
    assert shaped["aggregate"] == "max" and shaped["interval"] == "1m" and not shaped["empty"]


def test_missing_series_make_an_empty_chart_not_an_error():
    payload = metrics_payload(0)
    payload["series"] = payload["series"][:1]

    shaped = metrics.chart_data(MetricsResult.from_dict(payload), range_key="1h", aggregate="avg")

    assert shaped["empty"] is True
    assert all(chart["empty"] for chart in shaped["charts"])


@pytest.mark.parametrize(
    ("range_key", "interval"), [("1h", "1m"), ("6h", "5m"), ("24h", "5m"), ("7d", "1h"), ("30d", "1h")]
)
def test_the_endpoint_asks_novacron_with_the_users_token_for_the_presets_interval(
    partner, writer, client_of, mocked_api, range_key, interval
):
    make_vm(partner, 1)
    endpoint = mocked_api.get(f"{ROOT}/metrics", json=metrics_payload(interval=interval))

    response = client_of(writer).get(f"/vms/vm-00001/metrics.json?range={range_key}&aggregate=max")

    assert response.status_code == 200
    assert response.json()["charts"][0]["datasets"][0]["data"]
    sent = endpoint.calls[0].request
    query = parse_qs(urlsplit(sent.url).query)
    assert (
        query["interval"] == [interval]
        and query["aggregate"] == ["max"]
        and query["resource_id"] == ["vm-00001"]
    )
    assert query["metrics"] == ["cpu_usage,memory_usage,disk_io,network_in,network_out"]
    assert sent.headers["Authorization"] == f"Bearer access-{writer.pk}"


def test_the_endpoint_answers_repeat_requests_from_its_short_cache(partner, writer, client_of, mocked_api):
    make_vm(partner, 1)
    endpoint = mocked_api.get(f"{ROOT}/metrics", json=metrics_payload())
    client = client_of(writer)

    first = client.get("/vms/vm-00001/metrics.json?range=1h&aggregate=avg").json()
    second = client.get("/vms/vm-00001/metrics.json?range=1h&aggregate=avg").json()
    client.get("/vms/vm-00001/metrics.json?range=1h&aggregate=max")

    assert first == second
    assert endpoint.call_count == 2  # avg once, max once


def test_an_api_failure_is_a_clear_error_state(partner, writer, client_of, mocked_api):
    make_vm(partner, 1)
    mocked_api.get(f"{ROOT}/metrics", status=400, body=error_body("validation_error", "too many points"))

    response = client_of(writer).get("/vms/vm-00001/metrics.json?range=30d")

    assert response.status_code == 502
    assert response.json() == {"error": "Metrics are unavailable: too many points"}


def test_an_unreachable_novacron_is_a_clear_error_state(partner, writer, client_of, mocked_api):
    make_vm(partner, 1)
    mocked_api.get(f"{ROOT}/metrics", body=requests.ConnectionError("refused"))

    response = client_of(writer).get("/vms/vm-00001/metrics.json")

    assert response.status_code == 502
    assert "NovaCron is unreachable" in response.json()["error"]


def test_an_unknown_range_is_refused(partner, writer, client_of, mocked_api):
    make_vm(partner, 1)

    response = client_of(writer).get("/vms/vm-00001/metrics.json?range=2y")

    assert response.status_code == 400
    assert len(mocked_api.calls) == 0
