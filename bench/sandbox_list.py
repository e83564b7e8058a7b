"""Bench: page through 10,000 VMs of one partner on a real sandbox server.

Starts `python -m sandbox serve` on a free port with a temporary database seeded with 10,000 VMs
for partner-acme, then pages through them (limit 100) with plain HMAC-signed requests, measuring
interleaved a trivial endpoint (/api/v1/ping) on the same server. Prints VMs/s, p50 latencies and
their ratio, and one target line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VMS = 10_000
LIMIT = 100
GOAL_RATIO = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sandbox_env(database: Path) -> dict[str, str]:
    return {**os.environ, "SANDBOX_DATABASE_URL": f"sqlite:///{database}", "SANDBOX_RATE_LIMIT_SCALE": "1000",
            "SANDBOX_LOG_LEVEL": "WARNING"}  # fmt: skip


def signed_headers(credential: dict[str, str], method: str, path: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    message = f"{method}:{path}:{timestamp}".encode()
    return {
        "X-Partner-ID": credential["partner_id"], "X-API-Key": credential["api_key"], "X-Timestamp": timestamp,
        "X-Signature": hmac.new(credential["api_secret"].encode(), message, hashlib.sha256).hexdigest(),
    }  # fmt: skip


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the sandbox server exited early")
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("the sandbox server did not come up within 60 s")


def run(base: str, credential: dict[str, str]) -> tuple[float, list[float], list[float], int]:
    session = requests.Session()
    for _ in range(20):  # warm-up: connections, caches, the first queries
        session.get(f"{base}/api/v1/ping")
        session.get(
            f"{base}/api/v1/vms",
            params={"limit": LIMIT},
            headers=signed_headers(credential, "GET", "/api/v1/vms"),
        )
    page_ms, ping_ms, seen, page = [], [], 0, 1
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        response = session.get(f"{base}/api/v1/vms", params={"limit": LIMIT, "page": page, "include_deleted": "true"},
                               headers=signed_headers(credential, "GET", "/api/v1/vms"))  # fmt: skip
        page_ms.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        body = response.json()
        seen += len(body["data"])
        t1 = time.perf_counter()
        session.get(f"{base}/api/v1/ping").raise_for_status()
        ping_ms.append((time.perf_counter() - t1) * 1000)
        if not body["has_more"]:
            break
        page += 1
    listing_seconds = time.perf_counter() - started - sum(ping_ms) / 1000
    return listing_seconds, page_ms, ping_ms, seen


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        database = Path(tmp) / "bench.sqlite3"
        env = sandbox_env(database)
        seed_started = time.perf_counter()
        subprocess.run([PYTHON, "-m", "sandbox", "seed", "--vms", str(VMS), "--partner", "partner-acme"],
                       cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        seed_seconds = time.perf_counter() - seed_started
        credentials = json.loads(subprocess.run([PYTHON, "-m", "sandbox", "partner-credentials", "--json"], cwd=REPO,
                                                env=env, check=True, capture_output=True).stdout)  # fmt: skip
        credential = next(c for c in credentials if c["partner_id"] == "partner-acme")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([PYTHON, "-m", "sandbox", "serve", "--port", str(port), "--no-engine"], cwd=REPO,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_until_up(base, server)
            listing_seconds, page_ms, ping_ms, seen = run(base, credential)
        finally:
            server.terminate()
            server.wait(timeout=10)
    page_p50, ping_p50 = statistics.median(page_ms), statistics.median(ping_ms)
    ratio = page_p50 / ping_p50
    print(f"seeded {VMS} VMs in {seed_seconds:.1f} s")
    print(f"listed {seen} VMs in {len(page_ms)} pages of {LIMIT}: {seen / listing_seconds:,.0f} VMs/s")
    print(f"p50 page {page_p50:.2f} ms, p50 ping {ping_p50:.2f} ms (interleaved, same server)")
    print(f"page / ping ratio: {ratio:.2f}x")
    status = "met" if ratio <= GOAL_RATIO and seen >= VMS else "missed"
    print(f"target sandbox_list_page: {ratio:.2f}x (goal <= {GOAL_RATIO:g}x) {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
