"""Fleet bench: a 1,000-VM bulk stop and a 100-VM bulk migration, each a real Job run by a real Celery
worker against a real sandbox, on the embedded default and (with BENCH_DATABASE_URL) on PostgreSQL +
Redis.

For each set-up a child process starts, all on 127.0.0.1 and in a temporary directory of its own:
the sandbox (`python -m sandbox serve`, its engine on, SANDBOX_TIME_SCALE=TIME_SCALE), seeded with
SEED_VMS VMs of which partner-acme holds about half, made platinum there (5,000 calls a minute,
`migration_concurrent` 25: the contract's figures, not scaled); the portal under uvicorn with its
webhook subscription at the sandbox; a Celery worker with beat (so the periodic syncs spend their
share of the budget meanwhile, as in production). The child then sets Django up against the portal's
database, syncs the fleet, and for each job:

1. times the VM list page (`/vms/`, over HTTP with a signed-in session, bench/timing.py) idle;
2. zeroes the sandbox's counters (`/sandbox/counters`), creates the job with `jobs.services.job_create`
   (the view's own service; it queues the job on the worker's broker) and times the list page again
   for as long as the job runs;
3. reads what the sandbox counted: calls by method (the jobs' are the POSTs; the syncs read), calls
   refused, the busiest 60 s and 10 s, and the most migrations it had active at once.

The ideal times, given the caps:
- stop: items / min(budget rate, concurrency rate), where the budget rate is JOBS_BUDGET_SHARE of
  the partner's limit and the concurrency rate JOBS_CONCURRENCY over the median time of one stop
  call (measured first with the SDK on VMs outside the job);
- migration: the job's items, in its order, each started the instant a slot of
  `migration_concurrent` frees, each lasting what it lasted at the sandbox (accepted to finished);
  the "waves x typical duration" figure (ceil(items / slots) x the median) is printed beside it.

Targets: the budget never exceeded (nothing refused, the jobs' busiest minute within their share,
everything's busiest minute within the limit), the migrations never past `migration_concurrent`,
each job's total time <= 1.25x its ideal, and the list's p95 while each job runs <= 1.5x idle.

PostgreSQL: BENCH_DATABASE_URL names the server; the database used is `bench_fleet` (dropped and
created); Redis database 9 of BENCH_REDIS_URL (default redis://127.0.0.1:6379) is the broker and cache.

Run: `.venv/bin/python bench/fleet.py` (about 3 minutes per set-up; BENCH_FLEET_SETUPS=postgresql runs
one of them alone, BENCH_KEEP=1 keeps the servers' logs and databases, BENCH_FLEET_WORKER_NICE=N runs
the worker at a lower CPU priority). The machine's other load shows in every figure: the page times
and the stop's rate are CPU-bound when the sandbox, the portal, the worker (and PostgreSQL) share two
cores.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "sdk"))

PARTNER = "partner-acme"
TIER = "platinum"
SEED_VMS = 6000
STOP_VMS = 1000
MIGRATE_VMS = 100
SOURCE_CLUSTER, TARGET_CLUSTER = "cl-aws-use1-a", "cl-aws-use1-b"  # one region: about 8-20 s each
TIME_SCALE = 6.0
PROBE_CALLS = 20
WORKER_THREADS = 14
WORKER_NICE = int(os.environ.get("BENCH_FLEET_WORKER_NICE", "0"))
IDLE_ITERATIONS = int(os.environ.get("BENCH_ITERATIONS", "150"))
WARMUP = 5
TOTAL_GOAL = 1.25
LIST_GOAL = 1.5
JOB_TIMEOUT = 300
CHILD_TIMEOUT = 900


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


# --- the parent: one child per set-up ------------------------------------------------------------


def _setups() -> list[tuple[str, dict[str, str]]]:
    setups: list[tuple[str, dict[str, str]]] = [("embedded", {})]
    if os.environ.get("BENCH_DATABASE_URL"):
        from tests.servers import redis_database

        redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
        setups.append(
            (
                "postgresql",
                {
                    "DATABASE_URL": _with_database(os.environ["BENCH_DATABASE_URL"], "bench_fleet"),
                    "REDIS_URL": redis_database(redis, 9),
                },
            )
        )
    wanted = os.environ.get("BENCH_FLEET_SETUPS")
    return [setup for setup in setups if not wanted or setup[0] in wanted.split(",")]


def main() -> int:
    targets: list[str] = []
    for name, overrides in _setups():
        env = {**os.environ, "BENCH_FLEET_SETUP": name, "BENCH_FLEET_OVERRIDES": json.dumps(overrides)}
        for variable in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"):
            env.pop(variable, None)
        env["PYTHONUNBUFFERED"] = "1"
        print(f"== {name}", flush=True)
        with subprocess.Popen(
            [sys.executable, __file__, "--child"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        ) as child_process:
            assert child_process.stdout is not None
            # Bounded: a child still running after CHILD_TIMEOUT is killed (its output then ends).
            watchdog = threading.Timer(CHILD_TIMEOUT, child_process.kill)
            watchdog.start()
            for line in child_process.stdout:
                if line.startswith("target "):
                    targets.append(line.rstrip("\n"))
                else:
                    print(line, end="", flush=True)
            returncode = child_process.wait()
            watchdog.cancel()
        if returncode != 0:
            print(f"the {name} run failed ({returncode})", flush=True)
            return returncode
    for line in targets:
        print(line)
    return 0


# --- the child: one set-up -------------------------------------------------------------------------


class HttpPages:
    """bench/timing.py's client over HTTP: the portal's pages with a signed-in session."""

    def __init__(self, base: str, cookie: tuple[str, str]) -> None:
        import requests

        self.base = base
        self.session = requests.Session()
        self.session.cookies.set(*cookie)

    def get(self, path: str) -> Any:
        return self.session.get(self.base + path, timeout=30, allow_redirects=False)


def _prepare_database(overrides: dict[str, str]) -> None:
    url = overrides.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    import redis

    admin = _with_database(url.replace("postgres://", "postgresql://", 1), "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "bench_fleet" WITH (FORCE)')
        connection.execute('CREATE DATABASE "bench_fleet"')
    redis.Redis.from_url(overrides["REDIS_URL"]).flushdb()


def _sandbox_json(sandbox: Any, path: str, method: str = "GET") -> Any:
    import requests

    response = requests.request(method, sandbox.url + path, timeout=10)
    response.raise_for_status()
    return response.json()


def _sandbox_durations(sandbox: Any, migration_ids: list[str]) -> dict[str, float]:
    """Each migration's span at the sandbox, accepted to finished (its own timestamps), in seconds."""
    path = sandbox.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        marks = ",".join("?" * len(migration_ids))
        rows = db.execute(
            f"SELECT migration_id, created_at, finished_at FROM core_migration WHERE migration_id IN ({marks})",
            migration_ids,
        ).fetchall()
    return {
        mid: (datetime.fromisoformat(finished) - datetime.fromisoformat(created)).total_seconds()
        for mid, created, finished in rows
        if finished
    }


def _greedy_makespan(durations: list[float], slots: int) -> float:
    """Each item, in order, starting the instant one of `slots` frees: when the last one ends."""
    import heapq

    free = [0.0] * max(1, slots)
    for seconds in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + seconds)
    return max(free)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_of(processes: dict[str, int]) -> dict[str, float]:
    return {name: _cpu_seconds(pid) for name, pid in processes.items()}


def _settle_down(timeout: float = 60) -> None:
    """Wait until the worker has caught up with the webhooks (the previous job's), so idle is idle."""
    from webhooks.models import WebhookEvent

    deadline = time.monotonic() + timeout
    while WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).exists():
        if time.monotonic() > deadline:
            print(f"  (webhooks still waiting after {timeout:.0f} s: 'idle' is measured anyway)")
            return
        time.sleep(0.5)
    time.sleep(2)


def _run_job(
    pages: HttpPages, sandbox: Any, create: Any, idle_p95: float, pids: dict[str, int]
) -> dict[str, Any]:
    """Zero the sandbox's counters, create the job, time the list while it runs; the job and figures."""
    from jobs.models import Job

    _sandbox_json(sandbox, "/sandbox/counters", "DELETE")
    cpu_before = _cpu_of(pids)
    began = time.time()
    job = create()
    deadline = time.monotonic() + JOB_TIMEOUT

    def running() -> bool:
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job.job_id} still running after {JOB_TIMEOUT} s")
        return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).exists()

    from bench import timing

    during = timing.measure(pages, {"list": "/vms/"}, warmup=0, iterations=5, while_true=running)["list"]
    while running():
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.finished_at is not None
    cpu = {name: seconds - cpu_before[name] for name, seconds in _cpu_of(pids).items()}
    wall = time.time() - began
    print(
        f"  CPU while it ran ({wall:.0f} s, {os.cpu_count()} cores): "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items())
    )
    counted = _sandbox_json(
        sandbox,
        f"/sandbox/counters?partner={PARTNER}&since={began - 0.5}&until={job.finished_at.timestamp() + 0.5}",
    )
    return {
        "job": job,
        "total": (job.finished_at - job.created_at).total_seconds(),
        "during": during,
        "ratio": during[1] / idle_p95,
        "counted": counted,
    }


def _budget_lines(
    name: str, counted: dict[str, Any], limit: int, share: float, seconds: float
) -> tuple[bool, str]:
    window = counted["window"]
    jobs_calls = window["by_method"].get("POST", 0) + window["by_method"].get("DELETE", 0)
    jobs_peak = max(window["peak_per_60s"].get("POST", 0), window["peak_per_60s"].get("DELETE", 0))
    all_peak = window["peak_per_60s"].get("all", 0)
    allowed = math.floor(limit * share)
    span = (window["last"] - window["first"]) if window["first"] else 0.0
    rate = jobs_calls / seconds * 60 if seconds else 0.0
    ten = window["peak_per_10s"].get("POST", 0)
    print(
        f"  API at the sandbox: {window['calls']:,} calls over {span:.0f} s ({window['by_method']}), "
        f"{counted['refused']} refused; the job's {jobs_calls:,} at {rate:,.0f}/min over its run "
        f"(allowed {allowed:,}/min = {share:.0%} of {limit:,}), busiest 10 s {ten} "
        f"(= {ten * 6:,}/min); busiest 60 s: the job's {jobs_peak:,}, everything {all_peak:,} of {limit:,}"
    )
    # One slot of slack: the pacer's slots are exact, a request's arrival at the sandbox is not.
    met = counted["refused"] == 0 and jobs_peak <= allowed + 1 and all_peak <= limit
    return met, (
        f"{name}: {counted['refused']} refused, job {jobs_peak:,}/min of {allowed:,}, all {all_peak:,}/min of {limit:,}"
    )


def child() -> int:
    import warnings

    from tests.live_harness import import_partner, signed_in_session, start_live_portal, start_live_worker
    from tests.servers import Process, run_checked, start_sandbox

    setup = os.environ["BENCH_FLEET_SETUP"]
    overrides: dict[str, str] = json.loads(os.environ["BENCH_FLEET_OVERRIDES"])
    work = Path(tempfile.mkdtemp(prefix=f"bench-fleet-{setup}-"))
    processes: list[Process] = []
    try:
        _prepare_database(overrides)
        began = time.perf_counter()
        sandbox = start_sandbox(
            work,
            vms=SEED_VMS,
            extra_env={"SANDBOX_TIME_SCALE": str(TIME_SCALE), "SANDBOX_LOG_LEVEL": "WARNING"},
        )
        processes.append(sandbox.process)
        run_checked(
            [sys.executable, "-m", "sandbox", "shell", "-c",
             "from sandbox.core.models import Partner; from sandbox.core.tiers import default_quota_limits; "
             f"Partner.objects.filter(partner_id={PARTNER!r}).update(tier={TIER!r}, "
             f"quota_limits=default_quota_limits({TIER!r}))"],
            sandbox.env,
        )  # fmt: skip
        portal_overrides = {
            "DATABASE_URL": overrides.get("DATABASE_URL") or f"sqlite:///{work / 'portal.sqlite3'}",
            **({"REDIS_URL": overrides["REDIS_URL"]} if "REDIS_URL" in overrides else {}),
        }
        portal = start_live_portal(work, sandbox=sandbox, extra_env=portal_overrides)
        processes.append(portal.process)
        import_partner(portal, sandbox, PARTNER)
        cookie = signed_in_session(portal, partner_id=PARTNER, email="bench@acme.example", role="operator")

        os.environ.update({**portal.env, "LOG_LEVEL": "WARNING"})
        import django

        warnings.filterwarnings("ignore", message="No directory at")
        django.setup()
        from django.conf import settings

        from accounts.models import User
        from jobs import services
        from partners.clients import partner_client
        from partners.models import Partner
        from vms import sync
        from vms.models import VM

        partner = Partner.objects.get(partner_id=PARTNER)
        partner.tier = TIER
        partner.save(update_fields=["tier"])
        sync.sync_partner(partner=partner)
        sync.sync_vms_incremental(partner=partner)
        partner.refresh_from_db()
        user = User.objects.get(username="bench@acme.example")
        print(
            f"sandbox ({SEED_VMS:,} VMs seeded, time x{TIME_SCALE:g}), portal and sync ready in "
            f"{time.perf_counter() - began:.0f} s: {VM.objects.filter(partner=partner).count():,} VMs of {PARTNER} cached"
        )
        worker = start_live_worker(portal, work, concurrency=WORKER_THREADS, nice=WORKER_NICE)
        processes.append(worker)

        from vms.pacing import partner_limit_per_minute

        limit = partner_limit_per_minute(partner)
        share, concurrency = settings.JOBS_BUDGET_SHARE, settings.JOBS_CONCURRENCY
        client = partner_client(partner, max_retries=0)
        candidates = VM.objects.filter(partner=partner, status="running").order_by("vm_id")
        movers = [
            vm
            for vm in candidates.filter(cluster=SOURCE_CLUSTER, disk_size_gb__lte=100, memory_gb__lte=16)
            if not any(key.startswith("sandbox.") for key in vm.tags)
        ][:MIGRATE_VMS]
        if len(movers) < MIGRATE_VMS:
            raise SystemExit(f"only {len(movers)} VMs to migrate in {SOURCE_CLUSTER}")
        rest = list(candidates.exclude(vm_id__in=[vm.vm_id for vm in movers]))
        probes, stopping = rest[:PROBE_CALLS], rest[PROBE_CALLS : PROBE_CALLS + STOP_VMS]
        if len(stopping) < STOP_VMS:
            raise SystemExit(f"only {len(stopping)} running VMs to stop")

        # One stop call's time, alone: what JOBS_CONCURRENCY items in flight can do at most.
        latencies = []
        for vm in probes:
            started = time.perf_counter()
            client.stop_vm(vm.vm_id)
            latencies.append(time.perf_counter() - started)
        call_seconds = statistics.median(latencies)

        from bench import timing

        pages = HttpPages(portal.url, cookie)
        pids = {
            "sandbox": sandbox.process.popen.pid,
            "portal": portal.process.popen.pid,
            "worker": worker.popen.pid,
            "bench": os.getpid(),
        }
        lines: list[str] = []
        budget_ok: list[str] = []
        budget_met = True

        # 1. The bulk stop.
        _settle_down()
        idle = timing.measure(pages, {"list": "/vms/"}, warmup=WARMUP, iterations=IDLE_ITERATIONS)["list"]
        stop = _run_job(
            pages,
            sandbox,
            lambda: services.job_create(
                partner=partner, user=user, kind="stop", vms=stopping, filters={}, selection="picked"
            ),
            idle[1],
            pids,
        )
        budget_rate = limit * share / 60
        concurrency_rate = concurrency / call_seconds
        ideal = STOP_VMS / min(budget_rate, concurrency_rate)
        statuses = _item_statuses(stop["job"])
        print(
            f"stop of {STOP_VMS:,} VMs: {stop['total']:.1f} s, items {statuses}; ideal {ideal:.1f} s "
            f"= {STOP_VMS:,} / min(budget {budget_rate:.1f}/s, {concurrency} in flight / {call_seconds * 1000:.0f} ms "
            f"= {concurrency_rate:.0f}/s)"
        )
        met, summary = _budget_lines("stop", stop["counted"], limit, share, stop["total"])
        budget_met &= met
        budget_ok.append(summary)
        print(
            f"  /vms/ p95 idle {idle[1]:.1f} ms (p50 {idle[0]:.1f}), while the job ran {stop['during'][1]:.1f} ms "
            f"(p50 {stop['during'][0]:.1f}) = {stop['ratio']:.2f}x"
        )
        lines.append(_total_line("stop", setup, stop["total"] / ideal))
        lines.append(_list_line("stop", setup, stop["ratio"]))

        # 2. The bulk migration.
        quota = next(q for q in client.get_quotas() if q.name == "migration_concurrent")
        slots = int(quota.limit)
        _settle_down()
        idle = timing.measure(pages, {"list": "/vms/"}, warmup=WARMUP, iterations=IDLE_ITERATIONS)["list"]
        migrate = _run_job(
            pages,
            sandbox,
            lambda: services.job_create(
                partner=partner,
                user=user,
                kind="migrate",
                vms=movers,
                filters={},
                selection="picked",
                parameters={
                    "target_cluster": TARGET_CLUSTER,
                    "migration_type": "live",
                    "verify_after_migration": True,
                },
            ),
            idle[1],
            pids,
        )
        items = list(migrate["job"].items.order_by("position").values_list("migration_id", flat=True))
        durations = _sandbox_durations(sandbox, [mid for mid in items if mid])
        spans = [durations[mid] for mid in items if mid in durations]
        ideal = _greedy_makespan(spans, slots)
        typical = statistics.median(spans) if spans else 0.0
        waves = math.ceil(len(spans) / slots) if spans else 0
        peak = migrate["counted"]["active_migrations_peak"]
        statuses = _item_statuses(migrate["job"])
        print(
            f"migration of {MIGRATE_VMS} VMs ({SOURCE_CLUSTER} -> {TARGET_CLUSTER}, live): {migrate['total']:.1f} s, "
            f"items {statuses}; each took {min(spans, default=0):.1f}-{max(spans, default=0):.1f} s at the sandbox "
            f"(median {typical:.1f}); ideal {ideal:.1f} s (every slot refilled at once), "
            f"{waves} waves x {typical:.1f} s = {waves * typical:.1f} s"
        )
        print(f"  peak migrations active at the sandbox: {peak} (migration_concurrent {slots})")
        met, summary = _budget_lines("migrate", migrate["counted"], limit, share, migrate["total"])
        budget_met &= met
        budget_ok.append(summary)
        print(
            f"  /vms/ p95 idle {idle[1]:.1f} ms (p50 {idle[0]:.1f}), while the job ran {migrate['during'][1]:.1f} ms "
            f"(p50 {migrate['during'][0]:.1f}) = {migrate['ratio']:.2f}x"
        )
        lines.append(_total_line("migrate", setup, migrate["total"] / ideal if ideal else float("inf")))
        lines.append(_list_line("migrate", setup, migrate["ratio"]))
        lines.insert(
            0,
            f"target budget_never_exceeded ({setup}): {'; '.join(budget_ok)} (goal: none refused, "
            f"within the share and the limit) {_verdict(budget_met)}",
        )
        lines.insert(
            1,
            f"target migration_concurrent_never_exceeded ({setup}): peak {peak} (goal <= {slots}) "
            f"{_verdict(peak <= slots)}",
        )
        from django.db import connection

        connection.close()
        print(f"{setup} done in {time.perf_counter() - began:.0f} s")
        for line in lines:
            print(line)
        return 0
    finally:
        for process in reversed(processes):
            process.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _item_statuses(job: Any) -> dict[str, int]:
    from django.db.models import Count

    return dict(job.items.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


def _total_line(kind: str, setup: str, ratio: float) -> str:
    return (
        f"target fleet_total_vs_ideal ({kind}, {setup}): {ratio:.2f}x (goal <= {TOTAL_GOAL}) "
        f"{_verdict(ratio <= TOTAL_GOAL)}"
    )


def _list_line(kind: str, setup: str, ratio: float) -> str:
    return (
        f"target list_p95_during_job ({kind}, {setup}): {ratio:.2f}x idle (goal <= {LIST_GOAL}) "
        f"{_verdict(ratio <= LIST_GOAL)}"
    )


if __name__ == "__main__":
    sys.exit(child() if sys.argv[1:] == ["--child"] else main())
