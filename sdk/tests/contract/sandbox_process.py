"""Running a real sandbox process for the contract tests (used by conftest.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from novacron import Client, SDKConfig

REPO_ROOT = Path(__file__).resolve().parents[3]
SEEDED_VMS = 2500
STARTUP_SECONDS = 90


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    env: dict[str, str]
    credentials: dict[str, dict[str, str]]
    # The one local port this sandbox may deliver webhooks to (SANDBOX_WEBHOOK_ALLOWED_HOSTS).
    receiver_port: int = 0

    def run(self, *args: str) -> str:
        """A `python -m sandbox` command against this sandbox's database."""
        return subprocess.run(
            [sys.executable, "-m", "sandbox", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout

    def client(self, partner_id: str = "partner-acme", **settings: object) -> Client:
        credential = self.credentials[partner_id]
        return Client(
            SDKConfig(
                base_url=self.base_url,
                partner_id=partner_id,
                api_key=credential["api_key"],
                api_secret=credential["api_secret"],
                **settings,
            )
        )  # type: ignore[arg-type]

    def set_faults(self, faults: dict[str, object] | None) -> None:
        url = f"{self.base_url}/sandbox/faults"
        response = (
            requests.delete(url, timeout=10) if faults is None else requests.put(url, json=faults, timeout=10)
        )
        response.raise_for_status()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the sandbox exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the sandbox did not answer within {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


@contextmanager
def running_sandbox(workdir: Path) -> Iterator[Sandbox]:
    """Seed a fresh database in ``workdir``, serve it on a free port, stop it on exit.

    Time in the sandbox runs fast (migrations finish in seconds) and webhook retries are
    compressed; everything else is the sandbox as `python -m sandbox serve` runs it.
    """
    port, receiver_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # pytest-django points this at the portal; the sandbox is a separate Django project.
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        "SANDBOX_DATABASE_URL": f"sqlite:///{workdir / 'sandbox.sqlite3'}",
        "SANDBOX_BASE_URL": base_url,
        "SANDBOX_TIME_SCALE": "200",
        "SANDBOX_ENGINE_INTERVAL": "0.2",
        "SANDBOX_WEBHOOK_RETRY_SCHEDULE": "[0.5, 1, 1, 1, 1, 1, 1]",
        "SANDBOX_LOG_LEVEL": "WARNING",
        "SANDBOX_FAULTS": "{}",
        "SANDBOX_WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{receiver_port}",
    }
    seeding = Sandbox(base_url, env, {})
    seeding.run("seed", "--vms", str(SEEDED_VMS), "--partner", "partner-acme")
    credentials = {row["partner_id"]: row for row in json.loads(seeding.run("partner-credentials", "--json"))}
    log = workdir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(process, base_url, log)
        yield Sandbox(base_url, env, credentials, receiver_port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
