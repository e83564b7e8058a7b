"""The SDK's retries against the sandbox's injected faults (process-wide: each test clears them)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from novacron import Client, RateLimitError, SDKConfig, ServerError
from sandbox_process import Sandbox

pytestmark = pytest.mark.integration


@pytest.fixture
def faults(sandbox: Sandbox) -> Iterator[Sandbox]:
    yield sandbox
    sandbox.set_faults(None)


def client_that_heals(sandbox: Sandbox, **settings: object) -> tuple[Client, list[float]]:
    """A client whose first backoff sleep also clears the faults: the retry then meets a healthy server."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        sandbox.set_faults(None)
        time.sleep(min(seconds, 0.05))

    credential = sandbox.credentials["partner-acme"]
    config = SDKConfig(
        base_url=sandbox.base_url,
        partner_id="partner-acme",
        api_key=credential["api_key"],
        api_secret=credential["api_secret"],
        **settings,
    )  # type: ignore[arg-type]
    return Client(config, sleep=sleep), waits


def test_a_503_is_retried_and_the_call_succeeds(faults: Sandbox) -> None:
    client, waits = client_that_heals(faults)
    faults.set_faults({"error_rates": {"/api/v1/clusters": 1.0}})

    clusters = client.list_clusters()

    assert clusters
    assert len(waits) == 1


def test_a_post_retried_after_a_503_creates_one_vm(faults: Sandbox) -> None:
    client, waits = client_that_heals(faults)
    name = f"sdk-contract-retry-{time.time_ns()}"
    faults.set_faults({"error_rates": {"/api/v1/vms": 1.0}})

    created = client.create_vm(
        {
            "name": name,
            "template": "debian-12",
            "cpu_cores": 1,
            "memory_gb": 1,
            "disk_size_gb": 10,
            "network_id": "net-retry",
            "cloud_provider": "aws",
            "region": "us-east-1",
            "tags": {},
        }
    )

    assert len(waits) == 1
    assert [vm.vm_id for vm in client.list_vms(q=name).data] == [created.vm_id]


def test_a_429_storm_is_waited_out_using_the_servers_hint(faults: Sandbox) -> None:
    client, waits = client_that_heals(faults)
    faults.set_faults({"rate_limit_storm": True})

    client.get_partner()

    assert waits and waits[0] >= 1.0  # Retry-After: 1


def test_persistent_failures_surface_as_errors_after_the_retries(faults: Sandbox) -> None:
    credential = faults.credentials["partner-acme"]
    config = SDKConfig(
        base_url=faults.base_url,
        partner_id="partner-acme",
        api_key=credential["api_key"],
        api_secret=credential["api_secret"],
        max_retries=2,
    )
    sleeps: list[float] = []
    client = Client(config, sleep=sleeps.append)

    faults.set_faults({"error_rates": {"/api/v1/clusters": 1.0}})
    with pytest.raises(ServerError) as server_error:
        client.list_clusters()
    faults.set_faults({"rate_limit_storm": True})
    with pytest.raises(RateLimitError) as rate_error:
        client.get_partner()

    assert server_error.value.status == 503 and server_error.value.request_id
    assert rate_error.value.retry_after == 1.0
    assert len(sleeps) == 4


def test_a_deadline_bounds_the_whole_call_against_a_slow_sandbox(faults: Sandbox) -> None:
    """0.5 s across retries ends within 0.7 s, however many attempts the timeout alone would allow."""
    from novacron import APITimeoutError

    credential = faults.credentials["partner-acme"]
    client = Client(
        SDKConfig(
            base_url=faults.base_url,
            partner_id="partner-acme",
            api_key=credential["api_key"],
            api_secret=credential["api_secret"],
            timeout=0.3,
            max_retries=3,
            deadline=0.5,
        )
    )
    faults.set_faults({"latency_ms": 2000})

    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        client.list_clusters()
    elapsed = time.monotonic() - started

    assert elapsed <= 0.7, elapsed
