from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st
from novacron import Client
from novacron.ratelimit import TokenBucket
from sdk_support import API, START, FakeClock, make_client, rate_headers


def test_a_fresh_bucket_allows_a_burst_of_rps_calls_without_waiting(clock: FakeClock) -> None:
    bucket = TokenBucket(10, clock=clock.time, sleep=clock.sleep)

    waits = [bucket.acquire() for _ in range(10)]

    assert waits == [0.0] * 10
    assert clock.now == START


def test_past_the_burst_calls_are_spaced_at_the_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(10, clock=clock.time, sleep=clock.sleep)

    for _ in range(10 + 50):
        bucket.acquire()

    assert clock.now - START == pytest.approx(5.0)  # 50 calls past the burst at 10/s
    assert clock.sleeps == pytest.approx([0.1] * 50)


@given(
    rps=st.integers(min_value=1, max_value=500),
    calls=st.integers(min_value=1, max_value=2000),
    idle=st.floats(min_value=0, max_value=10),
)
def test_calls_never_outrun_one_burst_plus_the_rate(rps: int, calls: int, idle: float) -> None:
    clock = FakeClock(now=0.0)
    bucket = TokenBucket(rps, clock=clock.time, sleep=clock.sleep)
    clock.now += idle  # an idle client banks at most one burst
    start = clock.now
    for _ in range(calls):
        bucket.acquire()
    elapsed = clock.now - start

    assert calls <= rps + rps * elapsed + 1e-6
    assert elapsed == pytest.approx(max(0.0, (calls - rps) / rps), abs=1e-6)


def test_the_bucket_is_safe_to_share_between_threads() -> None:
    # Real threads, fake time: each sleeper only advances a shared counter under a lock.
    lock = threading.Lock()
    now = [0.0]

    def clock() -> float:
        with lock:
            return now[0]

    def sleep(seconds: float) -> None:
        pass  # waits are reservations; their sum is checked below

    bucket = TokenBucket(100, clock=clock, sleep=sleep)
    waits: list[float] = []

    def worker() -> None:
        for _ in range(50):
            wait = bucket.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 400 calls at a frozen clock: 100 from the burst, the other 300 each reserve the next slot.
    assert len(waits) == 400
    assert sorted(waits)[-1] == pytest.approx(3.0)
    assert len({round(w, 6) for w in waits if w > 0}) == 300


def test_the_client_holds_rate_limit_rps(api: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, rate_limit_rps=5)
    api.get(f"{API}/clusters", json={"data": []})

    for _ in range(25):
        client.list_clusters()

    assert clock.now - START == pytest.approx(4.0)  # 5 in the burst, 20 more at 5/s


def test_the_last_rate_limit_headers_are_exposed(client: Client, api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/clusters",
        json={"data": []},
        headers=rate_headers(remaining=742, limit=1000, reset=START + 30),
    )

    assert client.rate_limit is None
    client.list_clusters()

    info = client.rate_limit
    assert info is not None
    assert (info.limit, info.remaining) == (1000, 742)
    assert info.reset == datetime.fromtimestamp(START + 30, tz=UTC)


def test_an_exhausted_server_budget_delays_the_next_call_instead_of_meeting_a_429(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(
        f"{API}/clusters", json={"data": []}, headers=rate_headers(remaining=0, limit=100, reset=START + 90)
    )

    client.list_clusters()
    client.list_clusters()

    # One token comes back after 60/100 s; a full refill (90 s) is not needed for one call.
    assert clock.sleeps == [pytest.approx(0.6)]
    assert len(api.calls) == 2


def test_an_exhausted_budget_waits_no_longer_than_the_reset(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(
        f"{API}/clusters", json={"data": []}, headers=rate_headers(remaining=0, limit=10, reset=START + 2)
    )

    client.list_clusters()
    client.list_clusters()

    assert clock.sleeps == [pytest.approx(2.0)]


def test_a_budget_with_tokens_left_does_not_wait(
    client: Client, api: responses.RequestsMock, clock: FakeClock
) -> None:
    api.get(f"{API}/clusters", json={"data": []}, headers=rate_headers(remaining=1, reset=START + 90))

    client.list_clusters()
    client.list_clusters()

    assert clock.sleeps == []


def test_garbled_rate_limit_headers_are_ignored(client: Client, api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/clusters",
        json={"data": []},
        headers={"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "x"},
    )

    client.list_clusters()

    assert client.rate_limit is None
