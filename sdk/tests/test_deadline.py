"""The total deadline of a call, against a real server on 127.0.0.1 that answers slowly or never."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from novacron import APITimeoutError, Client, DeadlineExceededError, SDKConfig
from sdk_support import API, API_KEY, API_SECRET, PARTNER, FakeClock, error_body, make_client

# Time to notice the deadline and raise: thread wake-up and socket close, on a busy 2-core machine.
MARGIN = 0.25


class SlowNovaCron(ThreadingHTTPServer):
    """Answers every request with a 503 after `delay` seconds (or keeps it waiting for 30 s)."""

    daemon_threads = True
    delay = 30.0

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: SlowNovaCron

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests += 1
        time.sleep(self.server.delay)
        body = b'{"error": {"code": "unavailable", "message": "busy"}}'
        try:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up first

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_novacron() -> Iterator[SlowNovaCron]:
    server = SlowNovaCron()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def real_client(url: str, **settings: object) -> Client:
    config = SDKConfig(
        base_url=url,
        partner_id=PARTNER,
        api_key=API_KEY,
        api_secret=API_SECRET,
        **settings,  # type: ignore[arg-type]
    )
    return Client(config, jitter=lambda: 1.0)


def test_a_hanging_server_costs_the_deadline_not_timeout_times_attempts(slow_novacron: SlowNovaCron) -> None:
    client = real_client(slow_novacron.url, timeout=0.5, max_retries=2, backoff_base=0.05, deadline=0.5)

    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match=r"0\.5s deadline passed after 1 attempt"):
        client.get_vm("vm-1")
    elapsed = time.monotonic() - started

    assert elapsed <= 0.5 + MARGIN
    assert slow_novacron.requests == 1


def test_the_deadline_error_is_a_timeout_so_callers_catching_timeouts_still_do() -> None:
    assert issubclass(DeadlineExceededError, APITimeoutError)


def test_without_a_deadline_the_timeout_is_per_attempt(slow_novacron: SlowNovaCron) -> None:
    # What the deadline fixes: 0.3 s per attempt, two retries, is at least 0.9 s.
    client = real_client(slow_novacron.url, timeout=0.3, max_retries=2, backoff_base=0.01)

    started = time.monotonic()
    with pytest.raises(APITimeoutError) as raised:
        client.get_vm("vm-1")

    assert not isinstance(raised.value, DeadlineExceededError)
    assert time.monotonic() - started >= 0.9
    assert slow_novacron.requests == 3


def test_the_retries_are_still_made_while_there_is_time(slow_novacron: SlowNovaCron) -> None:
    slow_novacron.delay = 0.05  # each attempt is a quick 503
    client = real_client(slow_novacron.url, timeout=1.0, max_retries=2, backoff_base=0.05, deadline=2.0)

    started = time.monotonic()
    with pytest.raises(Exception) as raised:
        client.get_vm("vm-1")

    assert not isinstance(raised.value, DeadlineExceededError)  # the server's own 503, after 3 tries
    assert getattr(raised.value, "status", None) == 503
    assert slow_novacron.requests == 3
    assert time.monotonic() - started < 2.0


def test_the_last_attempt_gets_only_the_time_left(slow_novacron: SlowNovaCron) -> None:
    slow_novacron.delay = 0.3  # 503 after 0.3 s; the second attempt would need 0.3 s more than is left
    client = real_client(slow_novacron.url, timeout=5.0, max_retries=3, backoff_base=0.05, deadline=0.5)

    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match="after 2 attempts"):
        client.get_vm("vm-1")

    assert time.monotonic() - started <= 0.5 + MARGIN
    assert slow_novacron.requests == 2


def test_no_retry_starts_when_its_backoff_would_end_past_the_deadline(
    api: responses.RequestsMock, clock: FakeClock
) -> None:
    client = make_client(clock, max_retries=3, backoff_base=2.0, deadline=1.5)
    api.get(f"{API}/vms/vm-1", status=503, json=error_body("unavailable"))

    with pytest.raises(DeadlineExceededError, match="not waiting for a retry"):
        client.get_vm("vm-1")

    assert clock.sleeps == []  # it did not sleep 2 s only to give up
    assert len(api.calls) == 1


def test_a_rate_budget_wait_longer_than_the_deadline_fails_at_once(
    api: responses.RequestsMock, clock: FakeClock
) -> None:
    client = make_client(clock, deadline=1.0)
    api.get(
        f"{API}/clusters",
        json={"data": []},
        # Two calls a minute, none left: the next one may go in 30 s.
        headers={
            "X-RateLimit-Limit": "2",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(clock.now + 30),
        },
    )
    client.list_clusters()

    with pytest.raises(DeadlineExceededError, match="rate budget"):
        client.list_clusters()
    assert clock.sleeps == []


def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline"):
        SDKConfig(base_url="http://127.0.0.1:1", deadline=0)


def test_a_user_client_takes_a_deadline() -> None:
    client = Client.with_token("http://127.0.0.1:1", "token", deadline=0.75)
    assert client.config.deadline == 0.75
