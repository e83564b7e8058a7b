"""Bench: time from a webhook POST to the SSE message reaching an open page, p50 and p95.

Two set-ups, each a fresh portal under uvicorn plus a real Celery worker:
- embedded default: SQLite, the filesystem broker, streams polling the outbox (LIVE_POLL_INTERVAL);
- with Redis: Redis as broker and as the streams' wake-up (pub/sub), SQLite still the database.
A signed-in client holds /live/stream/ open; we post signed `migration.started` webhooks, each for a
new migration, 150 ms apart, and time each POST to the arrival of that migration's panel.

Run: .venv/bin/python bench/live_latency.py
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "sdk"))

from novacron.webhooks import sign_payload  # noqa: E402

from tests.live_harness import (  # noqa: E402
    create_partner,
    signed_in_session,
    start_live_portal,
    start_live_worker,
)
from tests.sse_client import open_stream, read_messages  # noqa: E402

SECRET = "whsec_bench_latency_0123456789abcdef"
EVENTS = 40
SPACING = 0.15
WARMUP = 3
REDIS_URL = "redis://127.0.0.1:6379/12"
GOALS = {"embedded": 1.5, "redis": 0.3}


def _payload(run: str, n: int) -> tuple[bytes, str]:
    migration_id = f"mig-lat-{run}-{n:04d}"
    body = json.dumps(
        {
            "event_id": f"evt_lat_{run}_{n:04d}",
            "event_type": "migration.started",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "partner_id": "partner-bench",
            "data": {
                "migration_id": migration_id,
                "partner_id": "partner-bench",
                "source_vm_id": f"vm-lat-{n}",
                "source_cluster": "cl-a",
                "target_cluster": "cl-b",
                "migration_type": "live",
                "status": "in_progress",
                "phase": "pre_check",
                "progress_percentage": 0.0,
                "bytes_transferred": 0,
                "bytes_total": 8 * 1024**3,
                "estimated_completion": None,
                "started_at": "2026-01-15T10:30:00Z",
                "finished_at": None,
                "error": None,
                "options": {},
                "metrics": {"transfer_rate_mbps": 0.0},
                "created_at": "2026-01-15T10:30:00Z",
                "updated_at": "2026-01-15T10:30:00Z",
            },
        }
    ).encode()
    return body, sign_payload(body, SECRET)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(name: str, extra_env: dict[str, str]) -> list[float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-live-{name}-") as tmpdir:
        tmp = Path(tmpdir)
        portal = start_live_portal(tmp, extra_env=extra_env)
        worker = None
        try:
            create_partner(portal, partner_id="partner-bench", webhook_secret=SECRET)
            cookie = signed_in_session(portal, partner_id="partner-bench", email="bench@bench.example")
            worker = start_live_worker(portal, tmp, concurrency=4, beat=False)
            arrivals: dict[str, float] = {}
            stream = open_stream(portal.url, cookie, timeout=60)

            def listen() -> None:
                try:
                    for message in read_messages(stream):
                        found = re.search(r'data-migration-id="([^"]+)"', message.data)
                        if found:
                            arrivals.setdefault(found.group(1), time.perf_counter())
                except Exception:
                    return

            threading.Thread(target=listen, daemon=True).start()
            session = requests.Session()
            receiver = f"{portal.url}/webhooks/novacron/partner-bench/"
            posted: dict[str, float] = {}
            for n in range(WARMUP + EVENTS):
                body, signature = _payload(name, n)
                sent = time.perf_counter()
                response = session.post(
                    receiver,
                    data=body,
                    timeout=10,
                    headers={"Content-Type": "application/json", "X-Webhook-Signature": signature},
                )
                response.raise_for_status()
                if n >= WARMUP:  # the first few pay for imports and connections
                    posted[f"mig-lat-{name}-{n:04d}"] = sent
                time.sleep(SPACING)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not all(key in arrivals for key in posted):
                time.sleep(0.1)
            stream.close()
            missing = [key for key in posted if key not in arrivals]
            if missing:
                print(f"{name}: {len(missing)} of {len(posted)} updates never arrived")
            return [arrivals[key] - sent for key, sent in posted.items() if key in arrivals]
        finally:
            if worker is not None:
                worker.stop()
            portal.process.stop()


def main() -> int:
    results: dict[str, list[float]] = {"embedded": measure("embedded", {})}
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).flushdb()
        results["redis"] = measure("redis", {"REDIS_URL": REDIS_URL})
    except Exception as exc:
        print(f"redis: not measured ({exc})")
    for name, latencies in results.items():
        if latencies:
            print(
                f"{name:9s}: {len(latencies)} updates, p50 {statistics.median(latencies) * 1000:6.0f} ms, "
                f"p95 {_percentile(latencies, 0.95) * 1000:6.0f} ms, max {max(latencies) * 1000:6.0f} ms"
            )
    if "embedded" in results and "redis" in results and results["redis"]:
        ratio = statistics.median(results["embedded"]) / statistics.median(results["redis"])
        print(f"redis p50 is {ratio:.1f}x faster than the embedded default")
    for name, goal in GOALS.items():
        latencies = results.get(name) or []
        if not latencies:
            print(f"target {name} p95 latency: not measured (goal <= {goal:.2f} s) missed")
            continue
        p95 = _percentile(latencies, 0.95)
        complete = len(latencies) == EVENTS
        verdict = "met" if p95 <= goal and complete else "missed"
        print(
            f"target {name} p95 latency: {p95:.3f} s over {len(latencies)}/{EVENTS} updates (goal <= {goal:.2f} s) {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
