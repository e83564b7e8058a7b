"""The real thing: `python -m sandbox serve` with its engine thread, driven over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.tests.receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    def __init__(self, base: str, credential: dict[str, str], receiver_port: int) -> None:
        self.base, self.credential, self.receiver_port = base, credential, receiver_port

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        timestamp = str(int(time.time()))
        signature = hmac.new(self.credential["api_secret"].encode(), f"{method}:{path.split('?')[0]}:{timestamp}".encode(),
                             hashlib.sha256).hexdigest()  # fmt: skip
        headers = {"X-Partner-ID": self.credential["partner_id"], "X-API-Key": self.credential["api_key"],
                   "X-Timestamp": timestamp, "X-Signature": signature}  # fmt: skip
        return requests.request(method, self.base + path, json=body, headers=headers, timeout=10)


def _wait_for(predicate: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    database = tmp_path_factory.mktemp("sandbox") / "db.sqlite3"
    receiver_port = _free_port()  # the one local address this sandbox may deliver webhooks to
    env = {**os.environ, "SANDBOX_DATABASE_URL": f"sqlite:///{database}", "SANDBOX_TIME_SCALE": "2000",
           "SANDBOX_ENGINE_INTERVAL": "0.2", "SANDBOX_WEBHOOK_RETRY_SCHEDULE": "[0.2]",
           "SANDBOX_WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{receiver_port}"}  # fmt: skip
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run = {"cwd": REPO, "env": env, "check": True, "capture_output": True}
    subprocess.run([sys.executable, "-m", "sandbox", "seed", "--vms", "60"], **run)  # type: ignore[call-overload]
    credentials = json.loads(subprocess.run([sys.executable, "-m", "sandbox", "partner-credentials", "--json"],
                                            **run).stdout)  # type: ignore[call-overload]  # fmt: skip
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", str(port)], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _up(base), 60)
        yield Sandbox(base, next(c for c in credentials if c["partner_id"] == "partner-acme"), receiver_port)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).ok
    except requests.RequestException:
        return False


def test_a_migration_runs_to_completion_and_its_events_arrive(sandbox: Sandbox) -> None:
    with Receiver(statuses=[500], port=sandbox.receiver_port) as receiver:
        subscribed = sandbox.call("POST", "/api/v1/partners/partner-acme/webhooks", {
            "url": receiver.url, "events": ["migration.started", "migration.completed"],
            "secret": "whsec-integration-0123",
        })  # fmt: skip
        assert subscribed.status_code == 201
        vms = sandbox.call("GET", "/api/v1/vms?status=running&cloud_provider=aws").json()["data"]
        vm = next(v for v in vms if not any(k.startswith("sandbox.") for k in v["tags"]))
        target = "cl-aws-usw2-a" if vm["cluster"] != "cl-aws-usw2-a" else "cl-aws-use1-a"
        started = sandbox.call(
            "POST", "/api/v1/migrations", {"source_vm_id": vm["vm_id"], "target_cluster": target}
        )
        assert started.status_code == 201
        path = f"/api/v1/migrations/{started.json()['migration_id']}"
        done = _wait_for(lambda: (m := sandbox.call("GET", path).json())["status"] == "completed" and m, 60)
        assert done["progress_percentage"] == 100.0 and done["finished_at"]
        moved = sandbox.call("GET", f"/api/v1/vms/{vm['vm_id']}").json()
        assert (moved["cluster"], moved["status"]) == (target, "running")
        # Two events, one of them answered 500 once and sent again.
        _wait_for(lambda: len(receiver.received) >= 3, 30)
    assert {json.loads(r["body"])["event_type"] for r in receiver.received} == {"migration.started",
                                                                                "migration.completed"}  # fmt: skip
    # The first delivery got a 500 and was retried with the same event id.
    ids = [r["headers"]["X-Webhook-ID"] for r in receiver.received]
    assert ids.count(ids[0]) == 2
