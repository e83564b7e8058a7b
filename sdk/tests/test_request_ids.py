from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import responses
from novacron import Client, SDKConfig
from sdk_support import API, API_KEY, API_SECRET, BASE_URL, PARTNER, FakeClock, error_body, rate_headers


def make_client(clock: FakeClock, request_id_provider: Callable[[], str | None] | None) -> Client:
    config = SDKConfig(base_url=BASE_URL, partner_id=PARTNER, api_key=API_KEY, api_secret=API_SECRET)
    return Client(
        config,
        clock=clock.time,
        monotonic=clock.time,
        sleep=clock.sleep,
        jitter=lambda: 1.0,
        request_id_provider=request_id_provider,
    )


def test_each_call_sends_the_request_id_the_provider_gives(
    api: responses.RequestsMock, clock: FakeClock
) -> None:
    ids = iter(["portal-req-1", "portal-req-2"])
    api.get(f"{API}/clusters", json={"data": []})
    api.get(f"{API}/clusters", json={"data": []})

    with make_client(clock, request_id_provider=lambda: next(ids)) as client:
        client.list_clusters()
        client.list_clusters()

    assert [call.request.headers["X-Request-ID"] for call in api.calls] == ["portal-req-1", "portal-req-2"]


def test_a_retried_call_keeps_its_request_id(api: responses.RequestsMock, clock: FakeClock) -> None:
    calls = []

    def provider() -> str:
        calls.append(1)
        return "portal-req-9"

    api.get(f"{API}/clusters", status=503, json=error_body("unavailable"))
    api.get(f"{API}/clusters", json={"data": []})

    with make_client(clock, request_id_provider=provider) as client:
        client.list_clusters()

    assert [call.request.headers["X-Request-ID"] for call in api.calls] == ["portal-req-9", "portal-req-9"]
    assert len(calls) == 1


@pytest.mark.parametrize("provider", [None, lambda: None, lambda: ""])
def test_no_request_id_header_is_sent_without_an_id(
    api: responses.RequestsMock, clock: FakeClock, provider: Callable[[], str | None] | None
) -> None:
    api.get(f"{API}/clusters", json={"data": []})

    with make_client(clock, request_id_provider=provider) as client:
        client.list_clusters()

    assert "X-Request-ID" not in api.calls[0].request.headers


def test_a_bearer_client_sends_the_request_id_too(api: responses.RequestsMock) -> None:
    api.get(f"{API}/clusters", json={"data": []})

    with Client.with_token(BASE_URL, "tok", request_id_provider=lambda: "portal-req-3") as client:
        client.list_clusters()

    assert api.calls[0].request.headers["X-Request-ID"] == "portal-req-3"


def test_each_call_is_logged_with_novacrons_request_id(
    client: Client, api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(
        f"{API}/vms",
        json={"data": [], "page": 1, "limit": 50, "total": 0, "has_more": False},
        headers=rate_headers(),
    )

    with caplog.at_level(logging.INFO, logger="novacron.http"):
        client.list_vms(status="running")

    (line,) = [r.getMessage() for r in caplog.records if r.name == "novacron.http"]
    assert line == "novacron call GET /api/v1/vms 200 in 0 ms novacron_request_id=req_test"


def test_a_call_that_gets_no_answer_is_logged_as_failed(
    client: Client, api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="novacron.http"), pytest.raises(Exception):  # noqa: B017
        client.get_vm("vm-1")

    lines = [r.getMessage() for r in caplog.records if r.name == "novacron.http"]
    assert lines and all(line.startswith("novacron call GET /api/v1/vms/vm-1 failed in") for line in lines)
