"""Bench: the live stream's fan-out, N open pages of one partner on ONE uvicorn process.

For N = 1, 100, 500 and 1,000 SSE streams (one signed-in session, raw sockets on loopback) we publish
20 events through `live.services.publish` (one `manage.py shell -c`, 250 ms apart) and report:
- publish-to-all-received latency per event (until the last of the N streams has it): p50/p95/max;
- events lost (N x 20 expected deliveries);
- outbox reads per event: the web process logs every read of the outbox at DEBUG (live/feeds.py),
  counted over the publishing window, empty polls included;
- web-process CPU seconds per event over that window (/proc/<pid>/stat utime+stime);
- memory per open stream (VmRSS delta / N, /proc/<pid>/status);
- database connections (pg_stat_activity, PostgreSQL only) and threads (/proc/<pid>/status) held
  idle before, while the N pages are open, and after they closed. "Idle" is the process after 100
  pages came and went, so the few reader threads (live/selectors.py) and the pooled connections it
  keeps count as idle.

Two set-ups: PostgreSQL + Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL, default the 127.0.0.1 ones when
reachable; a fresh database is created and dropped) and the embedded default (SQLite, streams'
feeds polling every LIVE_POLL_INTERVAL). Bounded: every wait has a timeout; about two minutes.

Run: .venv/bin/python bench/live_fanout.py
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.live_harness import portal_python, start_live_portal  # noqa: E402
from tests.servers import PortalServer  # noqa: E402

COUNTS = (1, 100, 500, 1000)
EVENTS = 20
SPACING = 0.25
OPEN_CONCURRENCY = 100
DELIVERY_TIMEOUT = 15.0
SETTLE_TIMEOUT = 30.0  # at most this long after the pages closed for their threads to end
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
P95_GOALS = {"pg-redis": 1.0, "embedded": 2.0}
READS_GOAL = 2.0
CONNECTIONS_GOAL = 10
MEMORY_GOAL_KB = 100.0
READ_LINE = re.compile(r"live (feed|stream) of partner \d+: (read|catch-up read)")

# psycopg's pool takes ~20 s joining its threads when a `manage.py shell` exits: leave at once.
EXIT = """
import os
os._exit(0)
"""

PUBLISHER = (
    """
import sys, time
from live.services import publish
from partners.models import Partner
partner = Partner.objects.get(partner_id="partner-fanout")
for n in range({events}):
    started = time.time()
    event = publish(partner=partner, topic="vm", html=f"<p id='vm-status-fanout'>{{n}}</p>")
    print(event.pk, started, flush=True)
    time.sleep({spacing})
"""
    + EXIT
)

SETUP = (
    """
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
from partners.models import Partner
partner, _ = Partner.objects.get_or_create(partner_id="partner-fanout", defaults=dict(name="Fan-out"))
user, _ = User.objects.get_or_create(username="fanout@bench.example", defaults=dict(partner=partner, role="operator"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(f"{settings.SESSION_COOKIE_NAME}={session.session_key}", flush=True)
"""
    + EXIT
)


STARTED = time.monotonic()


def _progress(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "Threads"):
            values[name] = int(value.split()[0])
    return values


@dataclass
class Held:
    connections: int | None
    threads: int
    rss_kb: int


@dataclass
class Run:
    n: int
    opened: int = 0
    refused: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    reads: int = 0
    cpu: float = 0.0
    before: Held | None = None
    during: Held | None = None
    after: Held | None = None
    settled: float = 0.0  # seconds after the close until `after` was taken


class Target:
    """The portal under uvicorn for one set-up, and how to count its database connections."""

    def __init__(self, name: str, portal: PortalServer, admin_url: str | None, database: str | None) -> None:
        self.name, self.portal, self.admin_url, self.database = name, portal, admin_url, database
        self.pid = portal.process.popen.pid
        self.port = int(portal.url.rsplit(":", 1)[1])

    def connections(self) -> int | None:
        if self.admin_url is None:
            return None
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,)
            ).fetchone()
        return int(row[0]) if row else 0

    def held(self) -> Held:
        status = _status(self.pid)
        return Held(self.connections(), status["Threads"], status["VmRSS"])

    def log_size(self) -> int:
        return self.portal.process.log.stat().st_size

    def reads_since(self, offset: int) -> int:
        with self.portal.process.log.open("rb") as log:
            log.seek(offset)
            return len(READ_LINE.findall(log.read().decode(errors="replace")))


class Page:
    """One open SSE stream: when each event id arrived."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.arrivals: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def listen(self) -> None:
        try:
            while line := await self.reader.readline():
                if line.startswith(b"id: "):
                    self.arrivals.setdefault(int(line[4:]), time.time())
        except (ConnectionError, asyncio.CancelledError):
            return

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.writer.close()


async def _open_page(port: int, cookie: str) -> tuple[int, Page | None]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /live/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status = int((await asyncio.wait_for(reader.readline(), 30)).split()[1])
    if status != 200:
        writer.close()
        return status, None
    await asyncio.wait_for(reader.readuntil(b": connected"), 30)
    page = Page(reader, writer)
    page.task = asyncio.get_running_loop().create_task(page.listen())
    return status, page


async def _open_pages(target: Target, cookie: str, n: int) -> tuple[list[Page], list[int]]:
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> tuple[int, Page | None]:
        async with gate:
            try:
                return await _open_page(target.port, cookie)
            except (OSError, TimeoutError, IndexError, ValueError, asyncio.IncompleteReadError):
                return 0, None

    opened = await asyncio.gather(*(one() for _ in range(n)))
    return [page for _, page in opened if page is not None], [
        status for status, page in opened if page is None
    ]


async def _publish(target: Target) -> dict[int, float]:
    code = PUBLISHER.format(events=EVENTS, spacing=SPACING)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        code,
        cwd=REPO,
        env=target.portal.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    if process.returncode != 0:
        raise RuntimeError(f"publisher failed: {err.decode()[-2000:]}")
    published = {}
    for line in out.decode().splitlines():
        if found := re.fullmatch(r"(\d+) (\d+\.\d+)", line.strip()):  # not a log line
            published[int(found.group(1))] = float(found.group(2))
    return published


async def _measure(target: Target, cookie: str, n: int) -> Run:
    run = Run(n)
    _progress(f"{target.name}: N={n}")
    if n == COUNTS[0]:
        # Idle is the process after pages came and went: it has imported what a page needs, started
        # its few reader threads and filled its pool, and keeps them whatever comes next.
        warm, _ = await _open_pages(target, cookie, OPEN_CONCURRENCY)
        for page in warm:
            page.close()
    await asyncio.sleep(2.5)
    run.before = target.held()
    pages, run.refused = await _open_pages(target, cookie, n)
    run.opened = len(pages)
    await asyncio.sleep(1.0)
    offset, cpu_start = target.log_size(), _cpu_seconds(target.pid)
    published = await _publish(target)
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline and not all(
        all(event_id in page.arrivals for event_id in published) for page in pages
    ):
        await asyncio.sleep(0.1)
    run.cpu = _cpu_seconds(target.pid) - cpu_start
    run.reads = target.reads_since(offset)
    run.during = target.held()
    for event_id, started in published.items():
        times = [page.arrivals.get(event_id) for page in pages]
        run.lost += sum(1 for t in times if t is None)
        if times and all(t is not None for t in times):
            run.latencies.append(max(t for t in times if t is not None) - started)
    run.lost += (n - len(pages)) * EVENTS
    for page in pages:
        page.close()
    # Each closing request ends the short-lived thread Django's ASGI handler gave its sync parts; a
    # thousand closing at once take a few seconds to wind down. `after` is read once they have, or at
    # SETTLE_TIMEOUT, and the time it took is printed.
    closed = time.monotonic()
    await asyncio.sleep(1.0)
    run.after = target.held()
    while time.monotonic() - closed < SETTLE_TIMEOUT and not _is_back(run.before, run.after):
        await asyncio.sleep(0.5)
        run.after = target.held()
    run.settled = time.monotonic() - closed
    return run


def _is_back(before: Held, after: Held) -> bool:
    return after.threads <= before.threads and (after.connections or 0) <= (before.connections or 0)


def _report(name: str, runs: list[Run]) -> None:
    for run in runs:
        assert run.before and run.during and run.after
        lat = run.latencies or [float("nan")]
        conns = (
            f"conns {run.before.connections}/{run.during.connections}/{run.after.connections}"
            if run.before.connections is not None
            else "conns n/a"
        )
        print(
            f"{name:8s} N={run.n:5d}: opened {run.opened}/{run.n}"
            f"{' refused ' + str(sorted(set(run.refused))) if run.refused else ''}, "
            f"p50 {statistics.median(lat) * 1000:6.0f} ms, p95 {_percentile(lat, 0.95) * 1000:6.0f} ms, "
            f"max {max(lat) * 1000:6.0f} ms, lost {run.lost}, reads/event {run.reads / EVENTS:.2f}, "
            f"cpu/event {run.cpu / EVENTS * 1000:.1f} ms, "
            f"memory/stream {(run.during.rss_kb - run.before.rss_kb) / run.n:.1f} KB, "
            f"{conns}, threads {run.before.threads}/{run.during.threads}/{run.after.threads} "
            f"(before/during/after, after read {run.settled:.1f} s after the close)"
        )


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def _targets(name: str, runs: list[Run]) -> None:
    biggest = max(runs, key=lambda run: run.n) if runs else None
    if biggest is None or len(runs) != len(COUNTS):
        print(f"target {name}: not measured (goal every N of {COUNTS}) missed")
        return
    assert biggest.before and biggest.during
    p95 = _percentile(biggest.latencies, 0.95) if biggest.latencies else float("inf")
    if name == "pg-redis":
        print(
            f"target {name} N={biggest.n} streams open: {biggest.opened}/{biggest.n}, "
            f"{len(biggest.refused)} refused (goal all, no 5xx) {_verdict(biggest.opened == biggest.n)}"
        )
    print(
        f"target {name} N={biggest.n} p95: {p95:.3f} s (goal <= {P95_GOALS[name]:.1f} s) "
        f"{_verdict(p95 <= P95_GOALS[name])}"
    )
    lost = sum(run.lost for run in runs)
    print(
        f"target {name} events lost: {lost} over N={'/'.join(str(r.n) for r in runs)} (goal 0) {_verdict(lost == 0)}"
    )
    reads = max(run.reads / EVENTS for run in runs)
    print(
        f"target {name} DB reads per event: at most {reads:.2f} whatever N (goal <= {READS_GOAL:.0f}) "
        f"{_verdict(reads <= READS_GOAL)}"
    )
    if biggest.during.connections is not None:
        held = max(
            max(r.during.connections or 0, r.before.connections or 0) for r in runs if r.during and r.before
        )
        print(
            f"target {name} DB connections held: at most {held} whatever N (goal <= {CONNECTIONS_GOAL}) "
            f"{_verdict(held <= CONNECTIONS_GOAL)}"
        )
    per_stream = (biggest.during.rss_kb - biggest.before.rss_kb) / biggest.n
    print(
        f"target {name} memory per open stream: {per_stream:.1f} KB at N={biggest.n} "
        f"(goal <= {MEMORY_GOAL_KB:.0f} KB) {_verdict(per_stream <= MEMORY_GOAL_KB)}"
    )
    back, shown = True, []
    for run in runs:
        assert run.before and run.after
        back = back and run.after.threads <= run.before.threads
        text = f"threads {run.before.threads}->{run.after.threads}"
        if run.before.connections is not None:
            back = back and (run.after.connections or 0) <= run.before.connections
            text += f" conns {run.before.connections}->{run.after.connections}"
        shown.append(text)
    print(f"target {name} after close back to idle: {', '.join(shown)} (goal <= idle) {_verdict(back)}")


def _bench(name: str, extra_env: dict[str, str], admin_url: str | None, database: str | None) -> list[Run]:
    with tempfile.TemporaryDirectory(prefix=f"bench-fanout-{name}-") as tmpdir:
        _progress(f"{name}: starting the portal")
        portal = start_live_portal(Path(tmpdir), extra_env={"LOG_LEVEL": "DEBUG", **extra_env})
        try:
            cookie = portal_python(portal, SETUP).split()[-1]
            target = Target(name, portal, admin_url, database)
            return [asyncio.run(asyncio.wait_for(_measure(target, cookie, n), 90)) for n in COUNTS]
        finally:
            portal.process.stop()


def _postgres_and_redis() -> tuple[str, str] | str:
    from tests.servers import unreachable

    reason = unreachable(DATABASE_URL, REDIS_URL)
    return reason if reason is not None else (DATABASE_URL, REDIS_URL)


def main() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Both ends of 1,000 sockets, in this process and in uvicorn (which inherits the limit).
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    results: dict[str, list[Run]] = {}
    reachable = _postgres_and_redis()
    if isinstance(reachable, tuple):
        import psycopg

        admin_url, redis_url = reachable
        database = f"portal_fanout_{os.getpid()}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
        try:
            database_url = admin_url.rsplit("/", 1)[0] + "/" + database
            results["pg-redis"] = _bench(
                "pg-redis", {"DATABASE_URL": database_url, "REDIS_URL": redis_url}, admin_url, database
            )
        finally:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]
    else:
        print(f"pg-redis: not measured ({reachable})")
    results["embedded"] = _bench("embedded", {}, None, None)
    for name, runs in results.items():
        _report(name, runs)
    for name in P95_GOALS:
        _targets(name, results.get(name, []))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
