"""Bench: how many signed webhooks per second the receiver accepts, next to a trivial 200 view.

Starts the portal under uvicorn (one process, as `make run` does) on a temporary SQLite database
with the filesystem broker (the embedded default), with bench/trivial_settings.py (the portal's
settings plus /bench/trivial/, a view that answers 200 "ok"). Eight client threads first hit the
trivial view flat out (same middleware, same server), then post signed `vm.started` webhooks at increasing paced
rates and finally flat out; every 20th post is a redelivery of an earlier event (must be a 200
no-op). Then a real Celery worker processes the queued tasks, and we count events lost (accepted
but never processed) and processed twice (attempts > 1, or more outbox rows than events).

Run: .venv/bin/python bench/webhooks.py
(BENCH_REDIS_URL=redis://127.0.0.1:6379/12 uses Redis as the broker; BENCH_THREADS and
BENCH_UVICORN_ARGS change the client threads and the server's options, for both views alike.)
"""

from __future__ import annotations

import json
import os
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
    portal_python,
    start_live_portal,
    start_live_worker,
    wait_until_processed,
)

THREADS = int(os.environ.get("BENCH_THREADS", "8"))
STEP_SECONDS = 2.5
PACED_RATES = (50, 100, 200)
SECRET = "whsec_bench_secret_0123456789abcdef"
GOAL_RATIO = 0.5
PROCESS_TIMEOUT = 90


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_id = 0
        self.accepted: list[str] = []
        self.duplicates_ok = 0
        self.errors = 0
        self.statuses: dict[str, int] = {}

    def take_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id


def _payload(n: int) -> tuple[bytes, str, str]:
    event_id = f"evt_bench_{n:07d}"
    body = json.dumps(
        {
            "event_id": event_id,
            "event_type": "vm.started",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "partner_id": "partner-bench",
            "data": {
                "vm_id": f"vm-bench-{n:07d}",
                "partner_id": "partner-bench",
                "name": f"bench-{n}",
                "status": "running",
                "template": "debian-12",
                "cpu_cores": 2,
                "memory_gb": 4,
                "disk_size_gb": 40,
                "network_id": "net-1",
                "cloud_provider": "aws",
                "region": "us-east-1",
                "cluster": "cl-aws-use1-a",
                "ip_address": "10.0.0.1",
                "tags": {},
                "created_at": "2026-01-15T10:00:00Z",
                "updated_at": "2026-01-15T10:30:00Z",
                "deleted_at": None,
            },
        }
    ).encode()
    return body, sign_payload(body, SECRET), event_id


def _run_step(url: str, seconds: float, rate: float | None, work) -> float:  # type: ignore[no-untyped-def]
    """Run `work(session)` from THREADS threads for `seconds`, paced to `rate` calls/s in total (None: flat out).
    Returns completed calls per second."""
    done = [0]
    lock = threading.Lock()
    start = time.perf_counter()
    stop_at = start + seconds
    issued = [0]

    def worker() -> None:
        session = requests.Session()
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            if rate is not None:
                with lock:
                    slot = issued[0]
                    issued[0] += 1
                due = start + slot / rate
                if due >= stop_at:
                    return
                if due > now:
                    time.sleep(due - now)
            work(session)
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.perf_counter() - start)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmpdir:
        tmp = Path(tmpdir)
        extra_env = {"DJANGO_SETTINGS_MODULE": "bench.trivial_settings"}
        if os.environ.get("BENCH_REDIS_URL"):
            # Redis as broker (and cache) instead of the filesystem broker; the database stays SQLite.
            import redis

            redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]).flushdb()
            extra_env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
        portal = start_live_portal(
            tmp, extra_env=extra_env, uvicorn_args=tuple(os.environ.get("BENCH_UVICORN_ARGS", "").split())
        )
        worker = None
        try:
            create_partner(portal, partner_id="partner-bench", webhook_secret=SECRET)
            receiver = f"{portal.url}/webhooks/novacron/partner-bench/"
            counter = Counter()

            def trivial(session: requests.Session) -> None:
                status = session.get(f"{portal.url}/bench/trivial/", timeout=10).status_code
                if status != 200:
                    with counter.lock:
                        counter.statuses[f"trivial {status}"] = (
                            counter.statuses.get(f"trivial {status}", 0) + 1
                        )

            def deliver(session: requests.Session) -> None:
                n = counter.take_id()
                redelivery = n % 20 == 0 and n > 20
                body, signature, event_id = _payload(n - 10 if redelivery else n)
                response = session.post(
                    receiver,
                    data=body,
                    timeout=10,
                    headers={"Content-Type": "application/json", "X-Webhook-Signature": signature},
                )
                with counter.lock:
                    key = f"{'redelivery' if redelivery else 'new'} {response.status_code}"
                    counter.statuses[key] = counter.statuses.get(key, 0) + 1
                    if redelivery and response.status_code == 200:
                        counter.duplicates_ok += 1
                    elif not redelivery and response.status_code == 202:
                        counter.accepted.append(event_id)
                    else:
                        counter.errors += 1

            _run_step(portal.url, 1.0, None, trivial)  # warm-up: imports, connections
            trivial_rate = _run_step(portal.url, STEP_SECONDS, None, trivial)
            print(f"trivial 200 view (/bench/trivial/), {THREADS} clients: {trivial_rate:7.1f} req/s")
            best = 0.0
            for rate in (*PACED_RATES, None):
                before = len(counter.accepted) + counter.duplicates_ok
                achieved = _run_step(portal.url, STEP_SECONDS, rate, deliver)
                accepted = (len(counter.accepted) + counter.duplicates_ok - before) / STEP_SECONDS
                label = f"{rate:>4}/s" if rate else "flat out"
                print(
                    f"webhooks offered {label}: {achieved:7.1f} posts/s, accepted {accepted:7.1f}/s "
                    f"({accepted / trivial_rate:.0%} of trivial)"
                )
                best = max(best, accepted)
            print(f"answers: {dict(sorted(counter.statuses.items()))}")

            worker = start_live_worker(portal, tmp, concurrency=4, beat=False)
            drained = wait_until_processed(portal, timeout=PROCESS_TIMEOUT)
            report = portal_python(
                portal,
                f"""
import json
import os
from webhooks.models import WebhookEvent
from live.models import Event
accepted = set(json.loads({json.dumps(json.dumps(counter.accepted))}))
processed = set(WebhookEvent.objects.filter(status="processed").values_list("event_id", flat=True))
twice = WebhookEvent.objects.filter(attempts__gt=1).count()
extra_publications = max(0, Event.objects.filter(topic="vm").count() - len(processed))
print(len(accepted), len(accepted - processed), twice + extra_publications, WebhookEvent.objects.count())
""",
            ).split()
            total, lost, twice, stored = (int(value) for value in report[-4:])
            print(
                f"accepted events: {total}; stored: {stored}; processed by the worker in {drained:.1f} s "
                f"({total / max(drained, 0.001):.0f}/s)"
            )
            print(f"lost: {lost}; processed twice: {twice}")
            ratio = best / trivial_rate
            print(
                f"target webhook rate vs trivial view: {ratio:.2f} (goal >= {GOAL_RATIO:.2f}) "
                f"{'met' if ratio >= GOAL_RATIO else 'missed'}"
            )
            print(f"target lost events: {lost} (goal 0) {'met' if lost == 0 else 'missed'}")
            print(f"target processed twice: {twice} (goal 0) {'met' if twice == 0 else 'missed'}")
            return 0
        finally:
            if worker is not None:
                worker.stop()
            portal.process.stop()


if __name__ == "__main__":
    raise SystemExit(main())
