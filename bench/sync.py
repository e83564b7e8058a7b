"""Sync benchmark: a first full sync of 100,000 VMs from a real sandbox, then an incremental sync after
1% of the fleet changed, on the embedded default and (with BENCH_DATABASE_URL) on PostgreSQL + Redis.

One sandbox process (`python -m sandbox serve --no-engine` on a free 127.0.0.1 port, its own SQLite
file) is seeded with 100,000 VMs of partner-acme (gold: 1,000 calls a minute, the contract's rate
limits, not scaled) and shared by both set-ups. For each set-up a child process with its own portal
database runs, as the Celery task would:
1. `sync_vms_incremental` with no watermark yet, i.e. the first full reconciliation;
2. `python -m sandbox churn` changes 1% of the VMs through the sandbox's lifecycle services (90% stop
   or start, 10% deleted: tombstones); the engine is off so nothing else changes;
3. `sync_vms_incremental` again (`updated_since` the watermark).
It checks the cache against NovaCron after each, then prints the times, the API calls of each run
(`SyncRun.api_calls`, every call the pacer let through), and the incremental's share of both.

Memory, measured in the child: the resident set (VmRSS from /proc/self/status) and the Python heap
(`sys.getallocatedblocks()`, blocks the interpreter holds) sampled after every API call of the full
sync; "flat" compares the mean after pages 5-10 with the mean over the last five pages, and the peak
is VmHWM (the process's high-water mark) minus the RSS before the sync started.

Both syncs pace themselves to `SYNC_BUDGET_SHARE` (0.5) of the partner's budget as in production, so
a gold partner's 100,000-VM full sync cannot take less than about 25 s of the pacer's spacing; the
time the pacer waited is printed beside each run.

PostgreSQL: BENCH_DATABASE_URL names the server (default postgresql://postgres@127.0.0.1:5432/postgres,
measured when it and Redis answer); the database used is `bench_sync` (dropped and created), Redis
database 7 of BENCH_REDIS_URL (default redis://127.0.0.1:6379) is the broker and cache.

Run: `.venv/bin/python bench/sync.py` (about 2-3 minutes per set-up, plus ~35 s of seeding).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

VMS = 100_000
CHANGED_SHARE = 0.01
FULL_GOAL_SECONDS = 60.0
MEMORY_GOAL_GROWTH = 1.10
INCREMENTAL_GOAL_SHARE = 0.05
PARTNER = "partner-acme"
CHILD_TIMEOUT = 900
SEED_TIMEOUT = 300


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


# --- the parent: one sandbox, one child per set-up -----------------------------------------------


def _sandbox_env(work: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "SANDBOX_DATABASE_URL": f"sqlite:///{work / 'sandbox.sqlite3'}",
        "SANDBOX_LOG_LEVEL": "WARNING",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def _start_sandbox(work: Path) -> tuple[object, str, dict[str, str]]:
    from tests.servers import Process, free_port, run_checked

    env = _sandbox_env(work)
    python = sys.executable
    began = time.perf_counter()
    run_checked([python, "-m", "sandbox", "migrate", "--noinput", "-v", "0"], env, timeout=SEED_TIMEOUT)
    run_checked(
        [python, "-m", "sandbox", "seed", "--vms", str(VMS), "--partner", PARTNER], env, timeout=SEED_TIMEOUT
    )
    credentials = {
        row["partner_id"]: row
        for row in json.loads(run_checked([python, "-m", "sandbox", "partner-credentials", "--json"], env))
    }
    print(f"sandbox seeded with {VMS:,} VMs of {PARTNER} in {time.perf_counter() - began:.0f} s", flush=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = Process.start(
        "sandbox", [python, "-m", "sandbox", "serve", "--port", str(port), "--no-engine"], env, work
    )
    process.wait_for_http(f"{url}/healthz", timeout=60)
    return process, url, credentials[PARTNER]


def _setups() -> list[tuple[str, dict[str, str]]]:
    setups = [("embedded", {})]
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    from tests.servers import redis_database, unreachable

    if (reason := unreachable(server, redis)) is not None:
        print(f"postgresql: not measured ({reason})")
    else:
        setups.append(
            (
                "postgresql",
                {
                    "DATABASE_URL": _with_database(server, "bench_sync"),
                    "REDIS_URL": redis_database(redis, 7),
                },
            )
        )
    return setups


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    sandbox = None
    targets: list[str] = []
    try:
        sandbox, url, credentials = _start_sandbox(work)
        for name, overrides in _setups():
            child_work = work / name
            child_work.mkdir()
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                "DATABASE_URL": f"sqlite:///{child_work / 'portal.sqlite3'}",
                "PORTAL_VAR_DIR": str(child_work / "var"),
                "PORTAL_ENV_FILE": "/dev/null",
                "DEBUG": "0",
                "LOG_LEVEL": "WARNING",
                "NOVACRON_API_URL": url,
                "PYTHONUNBUFFERED": "1",
                "BENCH_SYNC_SETUP": name,
                "BENCH_SYNC_CREDENTIALS": json.dumps(credentials),
                "BENCH_SYNC_SANDBOX_DATABASE_URL": _sandbox_env(work)["SANDBOX_DATABASE_URL"],
                **overrides,
            }
            if "REDIS_URL" not in overrides:
                env.pop("REDIS_URL", None)
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
    finally:
        if sandbox is not None:
            sandbox.stop()  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)
    for line in targets:
        print(line)
    return 0


# --- the child: one set-up's portal ----------------------------------------------------------------


def _rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _prepare_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg

    admin = _with_database(url.replace("postgres://", "postgresql://", 1), "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "bench_sync" WITH (FORCE)')
        connection.execute('CREATE DATABASE "bench_sync"')
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def child() -> int:
    import warnings

    _prepare_database()
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from partners.clients import partner_client
    from partners.models import Partner
    from tests.servers import run_checked
    from vms import sync
    from vms.models import VM, SyncRun
    from vms.pacing import SyncPacer, partner_limit_per_minute

    setup = os.environ["BENCH_SYNC_SETUP"]
    credentials = json.loads(os.environ["BENCH_SYNC_CREDENTIALS"])
    call_command("migrate", verbosity=0)
    partner = Partner.objects.create(
        partner_id=PARTNER,
        name="Acme",
        tier="gold",
        api_key=credentials["api_key"],
        api_secret=credentials["api_secret"],
    )

    class SampledPacer(SyncPacer):
        """The production pacer, noting the process's memory after every call."""

        rss: list[int]
        blocks: list[int]

        def observe(self, info):  # type: ignore[no-untyped-def]
            self.rss.append(_rss_kb())
            self.blocks.append(sys.getallocatedblocks())
            super().observe(info)

    from django.conf import settings

    def pacer() -> SampledPacer:
        made = SampledPacer(
            limit_per_minute=partner_limit_per_minute(partner), share=settings.SYNC_BUDGET_SHARE
        )
        made.rss, made.blocks = [], []
        return made

    def remote_total() -> int:
        return partner_client(partner).list_vms(limit=1).total

    # 1. The first full sync.
    full_pacer = pacer()
    rss_before = _rss_kb()
    started = time.perf_counter()
    full = sync.sync_vms_incremental(partner=partner, pacer=full_pacer)
    full_seconds = time.perf_counter() - started
    peak_kb = _rss_kb("VmHWM")
    if full.status != SyncRun.Status.SUCCEEDED or full.kind != SyncRun.Kind.VMS_FULL:
        raise SystemExit(f"the full sync failed: {full.kind} {full.status} {full.error}")
    cached = VM.objects.filter(partner=partner).count()
    expected = remote_total()
    if cached != expected:
        raise SystemExit(f"after the full sync NovaCron lists {expected} VMs, the cache holds {cached}")

    # The pages are the calls after the clusters call and before the three migration calls.
    page_rss, page_blocks = full_pacer.rss[1:-3], full_pacer.blocks[1:-3]
    early_rss, late_rss = statistics.mean(page_rss[4:10]), statistics.mean(page_rss[-5:])
    early_blocks, late_blocks = statistics.mean(page_blocks[4:10]), statistics.mean(page_blocks[-5:])
    rss_growth, blocks_growth = late_rss / early_rss, late_blocks / early_blocks
    print(
        f"full sync: {cached:,} VMs cached in {full_seconds:.1f} s ({cached / full_seconds:,.0f} VMs/s), "
        f"{full.api_calls} API calls, of which the pacer waited {full_pacer.waited:.1f} s"
    )
    quarters = [page_rss[min(len(page_rss) - 1, len(page_rss) * q // 4)] / 1024 for q in (1, 2, 3, 4)]
    print("  RSS after 25/50/75/100% of the pages: " + " / ".join(f"{mb:.0f} MB" for mb in quarters))
    print(
        f"  memory: RSS {rss_before / 1024:.0f} MB before, peak (VmHWM) {peak_kb / 1024:.0f} MB "
        f"(+{(peak_kb - rss_before) / 1024:.0f} MB); RSS after pages 5-10 {early_rss / 1024:.0f} MB, "
        f"after the last 5 pages {late_rss / 1024:.0f} MB (x{rss_growth:.3f}); Python heap blocks "
        f"x{blocks_growth:.3f} over the same pages"
    )

    # 2. 1% of the fleet changes at NovaCron.
    sandbox_env = {
        **os.environ,
        "SANDBOX_DATABASE_URL": os.environ["BENCH_SYNC_SANDBOX_DATABASE_URL"],
        "SANDBOX_LOG_LEVEL": "WARNING",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"):
        sandbox_env.pop(name, None)
    changes = json.loads(
        run_checked(
            [sys.executable, "-m", "sandbox", "churn", "--partner", PARTNER, "--vms", str(round(VMS * CHANGED_SHARE)),
             "--seed", str(len(setup))],
            sandbox_env,
            timeout=SEED_TIMEOUT,
        )
    )  # fmt: skip
    changed = sum(len(ids) for ids in changes.values())

    # 3. The incremental sync.
    incremental_pacer = pacer()
    started = time.perf_counter()
    incremental = sync.sync_vms_incremental(partner=partner, pacer=incremental_pacer)
    incremental_seconds = time.perf_counter() - started
    if incremental.status != SyncRun.Status.SUCCEEDED or incremental.kind != SyncRun.Kind.VMS_INCREMENTAL:
        raise SystemExit(
            f"the incremental sync failed: {incremental.kind} {incremental.status} {incremental.error}"
        )
    cached = VM.objects.filter(partner=partner).count()
    expected = remote_total()
    statuses = dict(
        VM.objects.filter(partner=partner, vm_id__in=changes["stopped"] + changes["started"]).values_list(
            "vm_id", "status"
        )
    )
    wrong = [vm_id for vm_id in changes["stopped"] if statuses.get(vm_id) != "stopped"]
    wrong += [vm_id for vm_id in changes["started"] if statuses.get(vm_id) != "running"]
    still_there = VM.objects.filter(partner=partner, vm_id__in=changes["deleted"]).count()
    if cached != expected or wrong or still_there:
        raise SystemExit(
            f"after the incremental sync: NovaCron lists {expected}, the cache holds {cached}; "
            f"{len(wrong)} changed VMs show the wrong status, {still_there} deleted VMs are still cached"
        )
    time_share = incremental_seconds / full_seconds
    calls_share = incremental.api_calls / full.api_calls
    print(
        f"incremental sync after {changed:,} VMs changed ({len(changes['deleted'])} deleted): "
        f"{incremental.items} stored, {incremental.deleted} removed in {incremental_seconds:.2f} s, "
        f"{incremental.api_calls} API calls (pacer waited {incremental_pacer.waited:.2f} s)"
    )
    print(f"  share of the full sync: time {time_share:.1%}, API calls {calls_share:.1%}")
    connection.close()

    memory_met = rss_growth <= MEMORY_GOAL_GROWTH and blocks_growth <= MEMORY_GOAL_GROWTH
    print(
        f"target full sync of {VMS // 1000}k VMs ({setup}): {full_seconds:.1f} s (goal <= {FULL_GOAL_SECONDS:.0f} s) "
        f"{_verdict(full_seconds <= FULL_GOAL_SECONDS)}"
    )
    print(
        f"target sync memory flat ({setup}): RSS x{rss_growth:.3f}, heap x{blocks_growth:.3f} from early to "
        f"last pages, peak +{(peak_kb - rss_before) / 1024:.0f} MB (goal <= x{MEMORY_GOAL_GROWTH}) "
        f"{_verdict(memory_met)}"
    )
    print(
        f"target incremental time share ({setup}): {time_share:.1%} (goal <= {INCREMENTAL_GOAL_SHARE:.0%}) "
        f"{_verdict(time_share <= INCREMENTAL_GOAL_SHARE)}"
    )
    print(
        f"target incremental API call share ({setup}): {calls_share:.1%} (goal <= {INCREMENTAL_GOAL_SHARE:.0%}) "
        f"{_verdict(calls_share <= INCREMENTAL_GOAL_SHARE)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(child() if sys.argv[1:] == ["--child"] else main())
