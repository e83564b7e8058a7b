from __future__ import annotations

import uuid

import pytest
import requests
import responses
from novacron import Client, RateLimitError, ServerError, UnauthorizedError
from novacron.signing import sign_request
from sdk_support import API, API_SECRET, PARTNER, START, FakeClock, error_body, make_client, rate_headers


def throttled(retry_after: int = 2, reset: float = START + 5) -> dict:
    return {
        "status": 429,
        "json": error_body("rate_limited", retry_after=retry_after),
        "headers": {**rate_headers(remaining=0, reset=reset), "Retry-After": str(retry_after)},
    }


def test_a_retried_429_is_signed_again_with_a_new_timestamp(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(f"{API}/vms/vm-1", **throttled(retry_after=2, reset=START + 1))
    api.get(f"{API}/vms/vm-1", json={"vm_id": "vm-1"}, headers=rate_headers())

    assert client.get_vm("vm-1").vm_id == "vm-1"

    first, second = (call.request.headers for call in api.calls)
    assert int(second["X-Timestamp"]) > int(first["X-Timestamp"])
    assert second["X-Signature"] != first["X-Signature"]
    for headers in (first, second):
        assert headers["X-Signature"] == sign_request(
            "GET", "/api/v1/vms/vm-1", headers["X-Timestamp"], API_SECRET
        )


def test_a_429_waits_for_the_reset_when_it_is_later_than_retry_after(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    # 10 calls a minute: one token every 6 s; the bucket is full again in 4 s.
    api.get(
        f"{API}/clusters",
        status=429,
        json=error_body("rate_limited", retry_after=1),
        headers={**rate_headers(remaining=0, limit=10, reset=START + 4), "Retry-After": "1"},
    )
    api.get(f"{API}/clusters", json={"data": []})

    client.list_clusters()

    assert clock.sleeps[0] == pytest.approx(4.0)


def test_a_429_waits_for_retry_after_when_it_is_later_than_the_reset(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(f"{API}/clusters", **throttled(retry_after=3, reset=START + 1))
    api.get(f"{API}/clusters", json={"data": []})

    client.list_clusters()

    assert clock.sleeps[0] == pytest.approx(3.0)


def test_a_429_does_not_wait_for_a_full_bucket_when_one_token_is_back_sooner(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    # 100 calls a minute: a token is back in 0.6 s, though the bucket is full only in 90 s.
    api.get(f"{API}/clusters", **throttled(retry_after=1, reset=START + 90))
    api.get(f"{API}/clusters", json={"data": []})

    client.list_clusters()

    assert clock.sleeps[0] == pytest.approx(1.0)


def test_a_429_wait_is_capped_by_the_max_wait_setting(api: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, max_retry_wait=4.0)
    api.get(f"{API}/clusters", **throttled(retry_after=30, reset=START + 90))  # a server asking for 30 s
    api.get(f"{API}/clusters", json={"data": []})

    client.list_clusters()

    assert max(clock.sleeps) == pytest.approx(4.0)


def test_a_post_keeps_its_idempotency_key_across_attempts(
    client: Client, api: responses.RequestsMock
) -> None:
    api.post(f"{API}/migrations", status=503, json=error_body("unavailable"))
    api.post(f"{API}/migrations", body=requests.ConnectionError("reset by peer"))
    api.post(f"{API}/migrations", status=201, json={"migration_id": "mig-1"})

    client.start_migration({"source_vm_id": "vm-1", "target_cluster": "cluster-2"})

    keys = {call.request.headers["Idempotency-Key"] for call in api.calls}
    assert len(api.calls) == 3
    assert len(keys) == 1
    assert uuid.UUID(keys.pop()).version == 4


def test_each_post_gets_its_own_idempotency_key(client: Client, api: responses.RequestsMock) -> None:
    api.post(f"{API}/vms/vm-1/stop", json={"vm_id": "vm-1"})
    api.post(f"{API}/vms/vm-1/start", json={"vm_id": "vm-1"})

    client.stop_vm("vm-1")
    client.start_vm("vm-1")

    first, second = (call.request.headers["Idempotency-Key"] for call in api.calls)
    assert first != second


def test_a_get_carries_no_idempotency_key(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/clusters", json={"data": []})

    client.list_clusters()

    assert "Idempotency-Key" not in api.calls[0].request.headers


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_failures_are_retried(client: Client, api: responses.RequestsMock, status: int) -> None:
    api.get(f"{API}/clusters", status=status, body="upstream down")
    api.get(f"{API}/clusters", json={"data": []})

    assert client.list_clusters() == []
    assert len(api.calls) == 2


def test_a_500_is_not_retried(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/clusters", status=500, json=error_body("internal_error"))

    with pytest.raises(ServerError):
        client.list_clusters()

    assert len(api.calls) == 1


def test_a_404_is_not_retried(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms/vm-x", status=404, json=error_body("not_found"))

    with pytest.raises(Exception, match="nope"):
        client.get_vm("vm-x")

    assert len(api.calls) == 1


def test_backoff_grows_exponentially_until_retries_run_out(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    for _ in range(4):
        api.get(f"{API}/clusters", status=503, json=error_body("unavailable"))

    with pytest.raises(ServerError):
        client.list_clusters()

    assert len(api.calls) == 4  # the first try and max_retries=3 more
    assert clock.sleeps == [0.5, 1.0, 2.0]  # jitter fixed at 1.0 in tests


def test_jitter_keeps_backoff_within_half_to_full_delay(
    api: responses.RequestsMock, clock: FakeClock
) -> None:
    from novacron import SDKConfig

    config = SDKConfig(
        base_url="http://novacron.test",
        partner_id=PARTNER,
        api_key="k",
        api_secret="s",
        max_retries=1,
        backoff_base=2.0,
    )
    client = Client(config, clock=clock.time, monotonic=clock.time, sleep=clock.sleep)
    api.get(f"{API}/clusters", status=502, body="")
    api.get(f"{API}/clusters", json={"data": []})

    client.list_clusters()

    assert 1.0 <= clock.sleeps[0] < 2.0


def test_a_persistent_429_surfaces_as_rate_limit_error(client: Client, api: responses.RequestsMock) -> None:
    for _ in range(4):
        api.get(f"{API}/clusters", **throttled())

    with pytest.raises(RateLimitError) as caught:
        client.list_clusters()

    assert caught.value.retry_after == 2.0


def test_zero_max_retries_sends_once(api: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, max_retries=0)
    api.get(f"{API}/clusters", status=503, json=error_body("unavailable"))

    with pytest.raises(ServerError):
        client.list_clusters()

    assert len(api.calls) == 1


def bearer_client(clock: FakeClock, provider: object = None) -> Client:
    return Client.with_token(
        "http://novacron.test",
        "old-token",
        token_provider=provider,  # type: ignore[arg-type]
        partner_id=PARTNER,
        clock=clock.time,
        monotonic=clock.time,
        sleep=clock.sleep,
    )


EXPIRED = {
    "status": 401,
    "json": error_body("unauthorized", "token expired"),
    "headers": {"WWW-Authenticate": 'Bearer error="invalid_token"'},
}


def test_an_expired_bearer_token_is_renewed_once_and_the_call_retried(
    api: responses.RequestsMock, clock: FakeClock
) -> None:
    renewals: list[str] = []

    def provider() -> str:
        renewals.append("new-token")
        return "new-token"

    api.get(f"{API}/partners/{PARTNER}", **EXPIRED)
    api.get(f"{API}/partners/{PARTNER}", json={"partner_id": PARTNER})

    partner = bearer_client(clock, provider).get_partner()

    assert partner.partner_id == PARTNER
    assert renewals == ["new-token"]
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer old-token", "Bearer new-token"]
    assert "X-Signature" not in api.calls[0].request.headers


def test_a_renewed_token_that_is_still_rejected_raises(api: responses.RequestsMock, clock: FakeClock) -> None:
    api.get(f"{API}/partners/{PARTNER}", **EXPIRED)
    api.get(f"{API}/partners/{PARTNER}", **EXPIRED)

    with pytest.raises(UnauthorizedError):
        bearer_client(clock, lambda: "also-bad").get_partner()

    assert len(api.calls) == 2


def test_without_a_token_provider_a_401_is_raised_at_once(
    api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(f"{API}/partners/{PARTNER}", **EXPIRED)

    with pytest.raises(UnauthorizedError):
        bearer_client(clock).get_partner()


def test_an_hmac_401_is_not_retried(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/partners/{PARTNER}", status=401, json=error_body("unauthorized", "bad signature"))

    with pytest.raises(UnauthorizedError):
        client.get_partner()

    assert len(api.calls) == 1
