"""The sandbox's Idempotency-Key under a race: 10 identical POSTs at once create one VM.

Each test starts a real sandbox (uvicorn, its engine) and fires the requests from 10 threads over
loopback, on SQLite and, when PostgreSQL is reachable, on PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.security.sandbox_calls import signed_call
from tests.servers import SandboxServer, start_sandbox

pytestmark = pytest.mark.integration

PARTNER = "partner-acme"
RACERS = 10
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _postgres_admin_url() -> str | None:
    configured = os.environ.get("DATABASE_URL", "")
    url = (
        configured.rsplit("/", 1)[0] + "/postgres"
        if configured.startswith("postgres")
        else POSTGRES_ADMIN_URL
    )
    url = url.replace("postgres://", "postgresql://", 1)
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3, autocommit=True):
            return url
    except Exception:
        return None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxServer]:
    tmp: Path = tmp_path_factory.mktemp(f"sandbox-{request.param}")
    extra: dict[str, str] = {}
    dropped: tuple[str, str] | None = None
    if request.param == "postgresql":
        admin_url = _postgres_admin_url()
        if admin_url is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        import psycopg

        name = f"sandbox_idempotency_{secrets.token_hex(4)}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        dropped = (admin_url, name)
        extra["SANDBOX_DATABASE_URL"] = (
            admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgres://") + "/" + name
        )
    server = start_sandbox(tmp, vms=20, extra_env=extra)
    try:
        yield server
    finally:
        server.process.stop()
        if dropped is not None:
            import psycopg

            with psycopg.connect(dropped[0], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dropped[1]}" WITH (FORCE)')  # type: ignore[arg-type]


def _race(sandbox: SandboxServer, path: str, body: dict[str, Any], key: str) -> list[requests.Response]:
    credential = sandbox.credentials[PARTNER]
    start = threading.Barrier(RACERS)
    answers: list[requests.Response | BaseException] = [RuntimeError("not run")] * RACERS

    def racer(slot: int) -> None:
        with requests.Session() as session:
            signed_call(sandbox.url, credential, "GET", "/api/v1/ping", session=session)  # connect first
            start.wait()
            try:
                answers[slot] = signed_call(
                    sandbox.url, credential, "POST", path, body=body,
                    headers={"Idempotency-Key": key}, session=session,
                )  # fmt: skip
            except BaseException as exc:
                answers[slot] = exc

    threads = [threading.Thread(target=racer, args=(slot,)) for slot in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    failures = [a for a in answers if isinstance(a, BaseException)]
    assert not failures, failures
    return [a for a in answers if isinstance(a, requests.Response)]


def test_ten_identical_vm_creates_at_once_make_one_vm(sandbox: SandboxServer) -> None:
    credential = sandbox.credentials[PARTNER]
    cluster = signed_call(sandbox.url, credential, "GET", "/api/v1/clusters").json()["data"][0]
    name = f"race-{secrets.token_hex(4)}"
    spec = {
        "name": name, "template": "ubuntu-24.04", "cpu_cores": 1, "memory_gb": 1, "disk_size_gb": 10,
        "network_id": "net-race", "cloud_provider": cluster["cloud_provider"], "region": cluster["region"],
        "tags": {"race": name},
    }  # fmt: skip

    answers = _race(sandbox, "/api/v1/vms", spec, key=f"key-{name}")

    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [(a.status_code, a.text) for a in answers]
    fresh = [a for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers]
    replayed = [a for a in answers if a.status_code == 201 and a.headers.get("Idempotent-Replayed") == "true"]
    busy = [a for a in answers if a.status_code == 409]
    assert len(fresh) == 1, statuses
    assert all(a.json() == fresh[0].json() for a in replayed)
    for answer in busy:
        error = answer.json()["error"]
        assert error["code"] == "conflict" and error["details"]["in_progress"] is True
        assert answer.json()["request_id"].startswith("req_")
    listed = signed_call(sandbox.url, credential, "GET", f"/api/v1/vms?q={name}").json()
    assert listed["total"] == 1
    assert listed["data"][0]["vm_id"] == fresh[0].json()["vm_id"]

    # Once the first has finished, a late repeat is the same answer replayed.
    late = signed_call(sandbox.url, credential, "POST", "/api/v1/vms", body=spec,
                       headers={"Idempotency-Key": f"key-{name}"})  # fmt: skip
    assert late.status_code == 201 and late.headers["Idempotent-Replayed"] == "true"
    assert late.json() == fresh[0].json()


def test_ten_identical_webhook_subscriptions_at_once_make_one(sandbox: SandboxServer) -> None:
    credential = sandbox.credentials[PARTNER]
    path = f"/api/v1/partners/{PARTNER}/webhooks"
    url = f"https://hooks.example.com/race/{secrets.token_hex(4)}"  # never delivered to: no event
    subscription = {"url": url, "events": ["vm.deleted"], "secret": secrets.token_hex(16)}

    answers = _race(sandbox, path, subscription, key=f"key-{url}")

    assert {a.status_code for a in answers} <= {201, 409}
    assert sum(1 for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers) == 1
    listed = signed_call(sandbox.url, credential, "GET", path + "?limit=500").json()["data"]
    assert [s["url"] for s in listed].count(url) == 1
