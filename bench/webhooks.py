"""Bench: the webhook receiver's accepted rate next to a trivial 200 view, and whether the Celery
worker's processing keeps up with it.

For each configuration the portal runs under uvicorn (one process, as `make run` does) with
bench/trivial_settings.py (the portal's settings plus /bench/trivial/, a view that answers 200 "ok"):

- the embedded default: SQLite and the filesystem broker, one worker process;
- PostgreSQL + Redis, two worker processes: the server BENCH_DATABASE_URL names (default
  postgresql://postgres@127.0.0.1:5432/postgres), in a database `bench_webhooks` dropped and made again,
  and BENCH_REDIS_URL (default redis://127.0.0.1:6379/6, flushed), when both answer.

Steps, with THREADS client threads:
1. the trivial view flat out (same middleware, same server);
2. signed webhooks at increasing paced rates, then flat out, with no worker: the best accepted rate.
   Three in four are `vm.started` of a new VM, one in four a `vm.stopped` of a VM three events back
   (stamped later: it wins whatever the order); every 20th post is a redelivery of an earlier event
   (must be a 200 no-op);
3. the workers start and drain what step 2 left: the processing capacity (events over the span of
   their `processed_at`);
4. a 30 s burst paced at step 2's best accepted rate with the workers running: accepted and processed
   per second during it, and the backlog (accepted, not yet processed) at 10 s, 20 s and its end,
   read from the events' own receipt and processing times;
5. after a final drain, events lost (accepted, never processed) and processed twice (attempts > 1, or
   more `vm` outbox rows than events).

Run: .venv/bin/python bench/webhooks.py
(BENCH_THREADS and BENCH_UVICORN_ARGS change the client threads and the server's options, for both views
alike; BENCH_BURST_SECONDS the burst's length.)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
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
from tests.servers import PortalServer, Process  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "8"))
STEP_SECONDS = 2.5
PACED_RATES = (50, 100, 200)
BURST_SECONDS = float(os.environ.get("BENCH_BURST_SECONDS", "30"))
SECRET = "whsec_bench_secret_0123456789abcdef"
GOAL_RATIO = 0.5
GOAL_PG_PROCESSING = 300.0
# "Flat": at the burst's end the worker is at most this many seconds of accepted events behind.
GOAL_BACKLOG_SECONDS = 1.0
PROCESS_TIMEOUT = 120


@dataclass
class Counter:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 0
    accepted: list[str] = field(default_factory=list)
    duplicates_ok: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def take_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id


@dataclass
class Result:
    name: str
    workers: int
    trivial_rate: float = 0.0
    best_accepted: float = 0.0
    capacity: float = 0.0
    burst_accepted: float = 0.0
    burst_processed: float = 0.0
    backlogs: list[tuple[float, int]] = field(default_factory=list)
    lost: int = -1
    twice: int = -1


def _payload(n: int) -> tuple[bytes, str, str]:
    event_id = f"evt_bench_{n:07d}"
    update = n % 4 == 0 and n > 4
    vm_n = n - 3 if update else n
    body = json.dumps(
        {
            "event_id": event_id,
            "event_type": "vm.stopped" if update else "vm.started",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "partner_id": "partner-bench",
            "data": {
                "vm_id": f"vm-bench-{vm_n:07d}",
                "partner_id": "partner-bench",
                "name": f"bench-{vm_n}",
                "status": "stopped" if update else "running",
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
                "updated_at": "2026-01-15T10:45:00Z" if update else "2026-01-15T10:30:00Z",
                "deleted_at": None,
            },
        }
    ).encode()
    return body, sign_payload(body, SECRET), event_id


def _run_step(seconds: float, rate: float | None, work) -> float:  # type: ignore[no-untyped-def]
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


def _drain_rate(portal: PortalServer, *, received_before: float) -> tuple[int, float]:
    """Events received before `received_before` (epoch s) and their processing span in seconds."""
    report = portal_python(
        portal,
        f"""
from datetime import datetime, timezone
from django.db.models import Max, Min
from webhooks.models import WebhookEvent
before = datetime.fromtimestamp({received_before!r}, tz=timezone.utc)
done = WebhookEvent.objects.filter(received_at__lt=before, status="processed")
span = done.aggregate(first=Min("processed_at"), last=Max("processed_at"))
print(done.count(), (span["last"] - span["first"]).total_seconds() if span["first"] else 0)
""",
    ).split()
    return int(report[-2]), float(report[-1])


def _burst_figures(portal: PortalServer, *, start: float, end: float) -> tuple[int, list[tuple[float, int]]]:
    """Events processed during [start, end], and the backlog at 10 s, 20 s and the end."""
    moments = [m for m in (start + 10, start + 20) if m < end] + [end]
    report = portal_python(
        portal,
        f"""
from datetime import datetime, timezone
from django.db.models import Q
from webhooks.models import WebhookEvent
def at(seconds):
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
events = WebhookEvent.objects.exclude(status="ignored")
processed = events.filter(processed_at__gte=at({start!r}), processed_at__lte=at({end!r})).count()
backlogs = [
    events.filter(received_at__lte=at(m)).filter(Q(processed_at__isnull=True) | Q(processed_at__gt=at(m))).count()
    for m in {moments!r}
]
print(processed, *backlogs)
""",
    ).split()
    values = [int(value) for value in report[-1 - len(moments) :]]
    return values[0], [(moment - start, backlog) for moment, backlog in zip(moments, values[1:], strict=True)]


def _bench(result: Result, extra_env: dict[str, str]) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"bench-webhooks-{result.name}-") as tmpdir:
        tmp = Path(tmpdir)
        env = {"DJANGO_SETTINGS_MODULE": "bench.trivial_settings", **extra_env}
        portal = start_live_portal(
            tmp, extra_env=env, uvicorn_args=tuple(os.environ.get("BENCH_UVICORN_ARGS", "").split())
        )
        workers: list[Process] = []
        try:
            create_partner(portal, partner_id="partner-bench", webhook_secret=SECRET)
            receiver = f"{portal.url}/webhooks/novacron/partner-bench/"
            counter = Counter()

            def trivial(session: requests.Session) -> None:
                status = session.get(f"{portal.url}/bench/trivial/", timeout=10).status_code
                if status != 200:
                    with counter.lock:
                        key = f"trivial {status}"
                        counter.statuses[key] = counter.statuses.get(key, 0) + 1

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

            def accepted_so_far() -> int:
                return len(counter.accepted) + counter.duplicates_ok

            _run_step(1.0, None, trivial)  # warm-up: imports, connections
            result.trivial_rate = _run_step(STEP_SECONDS, None, trivial)
            print(f"[{result.name}] trivial 200 view, {THREADS} clients: {result.trivial_rate:7.1f} req/s")
            for rate in (*PACED_RATES, None):
                before = accepted_so_far()
                achieved = _run_step(STEP_SECONDS, rate, deliver)
                accepted = (accepted_so_far() - before) / STEP_SECONDS
                label = f"{rate:>4}/s" if rate else "flat out"
                print(
                    f"[{result.name}] webhooks offered {label}: {achieved:7.1f} posts/s, accepted "
                    f"{accepted:7.1f}/s ({accepted / result.trivial_rate:.0%} of trivial)"
                )
                result.best_accepted = max(result.best_accepted, accepted)

            backlog_until = time.time()
            backlog = len(counter.accepted)
            workers = [
                start_live_worker(portal, tmp, concurrency=4, beat=False, name=f"worker{i + 1}")
                for i in range(result.workers)
            ]
            wait_until_processed(portal, timeout=PROCESS_TIMEOUT)
            drained, span = _drain_rate(portal, received_before=backlog_until)
            result.capacity = drained / max(span, 0.001)
            print(
                f"[{result.name}] {result.workers} worker(s) drained a backlog of {backlog} events: "
                f"{drained} in {span:.1f} s ({result.capacity:.0f}/s)"
            )

            before = accepted_so_far()
            burst_start = time.time()
            _run_step(BURST_SECONDS, result.best_accepted, deliver)
            burst_end = time.time()
            burst_seconds = burst_end - burst_start
            result.burst_accepted = (accepted_so_far() - before) / burst_seconds
            processed, result.backlogs = _burst_figures(portal, start=burst_start, end=burst_end)
            result.burst_processed = processed / burst_seconds
            backlogs = ", ".join(f"{backlog} at {moment:.0f} s" for moment, backlog in result.backlogs)
            print(
                f"[{result.name}] {burst_seconds:.0f} s burst at {result.best_accepted:.0f}/s: accepted "
                f"{result.burst_accepted:.1f}/s, processed {result.burst_processed:.1f}/s; backlog {backlogs}"
            )
            print(f"[{result.name}] answers: {dict(sorted(counter.statuses.items()))}")

            wait_until_processed(portal, timeout=PROCESS_TIMEOUT)
            report = portal_python(
                portal,
                f"""
import json
from webhooks.models import WebhookEvent
from live.models import Event
accepted = set(json.loads({json.dumps(json.dumps(counter.accepted))}))
processed = set(WebhookEvent.objects.filter(status="processed").values_list("event_id", flat=True))
twice = WebhookEvent.objects.filter(attempts__gt=1).count()
extra_publications = max(0, Event.objects.filter(topic="vm").count() - len(processed))
print(len(accepted), len(accepted - processed), twice + extra_publications, WebhookEvent.objects.count())
""",
            ).split()
            total, result.lost, result.twice, stored = (int(value) for value in report[-4:])
            print(
                f"[{result.name}] accepted events: {total}; stored: {stored}; lost: {result.lost}; "
                f"processed twice: {result.twice}"
            )
            return result
        finally:
            for worker in workers:
                worker.stop()
            portal.process.stop()


def _fresh_postgres_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def _targets(result: Result) -> None:
    name = result.name
    ratio = result.best_accepted / result.trivial_rate
    print(
        f"target {name} webhook rate vs trivial view: {ratio:.2f} (goal >= {GOAL_RATIO:.2f}) "
        f"{_verdict(ratio >= GOAL_RATIO)}"
    )
    keeps_up = result.capacity / max(result.best_accepted, 0.001)
    print(
        f"target {name} processing vs accepted: {result.capacity:.0f}/s vs {result.best_accepted:.0f}/s = "
        f"{keeps_up:.2f} (goal >= 1.00) {_verdict(keeps_up >= 1)}"
    )
    end_backlog = result.backlogs[-1][1] if result.backlogs else -1
    allowed = round(result.burst_accepted * GOAL_BACKLOG_SECONDS)
    print(
        f"target {name} backlog at the burst's end: {end_backlog} (goal <= {allowed}, "
        f"{GOAL_BACKLOG_SECONDS:.0f} s of accepted events) {_verdict(0 <= end_backlog <= allowed)}"
    )
    if name == "pg-redis":
        print(
            f"target {name} processing with {result.workers} workers: {result.capacity:.0f}/s "
            f"(goal >= {GOAL_PG_PROCESSING:.0f}/s) {_verdict(result.capacity >= GOAL_PG_PROCESSING)}"
        )
    print(f"target {name} lost events: {result.lost} (goal 0) {_verdict(result.lost == 0)}")
    print(f"target {name} processed twice: {result.twice} (goal 0) {_verdict(result.twice == 0)}")


def _postgres_and_redis() -> tuple[str, str] | None:
    """BENCH_DATABASE_URL's server and BENCH_REDIS_URL, by default this machine's when both answer."""
    from tests.servers import unreachable

    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
    if (reason := unreachable(server, redis_url)) is not None:
        print(f"pg-redis: not measured ({reason})")
        return None
    # A database of the bench's own on that server, dropped and made again: never the one named.
    return server.rsplit("/", 1)[0] + "/bench_webhooks", redis_url


def main() -> int:
    results = [_bench(Result("embedded", workers=1), {})]
    found = _postgres_and_redis()
    if found:
        import redis

        database_url, redis_url = found
        _fresh_postgres_database(database_url)
        redis.Redis.from_url(redis_url).flushdb()
        results.append(
            _bench(Result("pg-redis", workers=2), {"DATABASE_URL": database_url, "REDIS_URL": redis_url})
        )
    for result in results:
        _targets(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
