"""Usage benchmark: 10,000 VMs x 31 days of state intervals, the usage page against the bare layout, and
the CSV export's time to first byte and memory.

Run: `.venv/bin/python bench/usage.py` (a few minutes: most of it is filling and the first rollup).
On a temporary SQLite database unless `BENCH_DATABASE_URL` names another (e.g.
`postgres://postgres@127.0.0.1/bench_usage`, which must exist and is emptied). Page figures are server
times in-process with Django's test client, the usage page and the bare page interleaved so both see
the same machine load. Prints ratios and `target ...` lines.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import tracemalloc
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
WORK = Path(tempfile.mkdtemp(prefix="bench-usage-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{WORK / 'portal.sqlite3'}"),
        "PORTAL_VAR_DIR": str(WORK / "var"),
        "PORTAL_ENV_FILE": "/dev/null",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
)

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

import portal.urls  # noqa: E402
from accounts.decorators import partner_required  # noqa: E402
from accounts.models import User  # noqa: E402
from bench import timing  # noqa: E402
from partners.models import Partner  # noqa: E402
from usage.models import VMDayUsage  # noqa: E402
from usage.services import usage_refresh  # noqa: E402
from vms.models import VMStateInterval  # noqa: E402

VMS = 10_000
DAYS = 31
MONTH = datetime(2026, 10, 1, tzinfo=UTC)
ITERATIONS = 100
WARMUP = 10
PAGE = "/usage/?month=2026-10&by=tag:cost-center"
CSV = "/usage/export.csv?month=2026-10"
BATCH = 5000
FIRST_ROWS = 10_000


@partner_required
def bare_page(request: HttpRequest) -> HttpResponse:
    """The base layout and nothing else, behind the same sign-in check as the usage page."""
    return render(request, "_base.html")


def install_bare_page() -> None:
    portal.urls.urlpatterns.insert(0, path("bench/bare/", bare_page))
    clear_url_caches()


def fill(partner: Partner) -> int:
    """Each VM runs part of each day and is stopped the rest: two intervals per VM per day."""
    rng = random.Random(17)
    now = datetime.now(UTC)
    clusters = [
        ("aws", "us-east-1", "cl-aws-1"),
        ("aws", "eu-west-1", "cl-aws-2"),
        ("gcp", "europe-west1", "cl-gcp-1"),
    ]
    written = 0
    batch: list[VMStateInterval] = []
    for n in range(VMS):
        cloud, region, cluster = rng.choice(clusters)
        fields = {
            "partner": partner,
            "vm_id": f"vm-{n:06d}",
            "vm_name": f"web-{n:06d}",
            "vm_created_at": MONTH - timedelta(days=30),
            "cpu_cores": rng.choice([1, 2, 4, 8]),
            "memory_gb": rng.choice([2, 4, 8, 16]),
            "cloud_provider": cloud,
            "region": region,
            "cluster": cluster,
            "tags": {"cost-center": f"cc-{rng.randint(100, 999)}", "env": rng.choice(["prod", "dev"])},
            "recorded_at": now,
        }
        for day in range(DAYS):
            start = MONTH + timedelta(days=day)
            stop = start + timedelta(hours=rng.randint(4, 20))
            last = day == DAYS - 1
            batch.append(VMStateInterval(**fields, started_at=start, ended_at=stop, status="running"))
            batch.append(
                VMStateInterval(
                    **fields,
                    started_at=stop,
                    ended_at=None if last else start + timedelta(days=1),
                    status="stopped",
                )
            )
        if len(batch) >= BATCH:
            VMStateInterval.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    VMStateInterval.objects.bulk_create(batch)
    return written + len(batch)


def measure(client: Client, urls: dict[str, str]) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of each URL, requests interleaved (bench/timing.py)."""
    return timing.measure(client, urls, warmup=WARMUP, iterations=ITERATIONS)


def csv_bench(client: Client) -> tuple[float, int, float, float]:
    """Time to first byte (ms), rows, and the traced memory peak after the first rows and at the end (MB)."""
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(CSV)
    chunks = iter(response.streaming_content)
    next(chunks)
    first_byte = (time.perf_counter() - started) * 1000
    rows, peak_first = 1, 0.0
    for _chunk in chunks:
        rows += 1
        if rows == FIRST_ROWS:
            peak_first = tracemalloc.get_traced_memory()[1] / 2**20
    peak_all = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return first_byte, rows - 1, peak_first, peak_all


def main() -> None:
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    install_bare_page()
    for model in (VMDayUsage, VMStateInterval):
        model.objects.all().delete()
    Partner.objects.filter(partner_id="partner-bench").delete()
    partner = Partner.objects.create(partner_id="partner-bench", name="Bench", tier="gold")
    user = User.objects.create_user(
        username=f"bench-{time.time_ns()}", email="bench@example.com", partner=partner, role="admin"
    )
    client = Client()
    client.force_login(user)

    started = time.perf_counter()
    intervals = fill(partner)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    days = usage_refresh(partner=partner, now=MONTH + timedelta(days=DAYS))
    rolled = time.perf_counter() - started
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    detail = VMDayUsage.objects.filter(partner=partner).count()
    print(f"usage bench on {connection.vendor}: {VMS:,} VMs x {DAYS} days")
    print(
        f"  filled {intervals:,} intervals in {filled:.1f} s; first rollup of {days} days in {rolled:.1f} s"
    )
    print(f"  ({detail:,} VM-day rows)")

    figures = measure(client, {"usage": PAGE, "bare": "/bench/bare/"})
    (usage_p50, usage_p95), (bare_p50, bare_p95) = figures["usage"], figures["bare"]
    ratio = usage_p95 / bare_p95
    print(
        f"  usage page p50 {usage_p50:6.2f} ms  p95 {usage_p95:6.2f} ms | bare p50 {bare_p50:6.2f} ms "
        f"p95 {bare_p95:6.2f} ms | p95 ratio {ratio:.2f}x"
    )
    first_byte, rows, peak_first, peak_all = csv_bench(client)
    growth = peak_all / peak_first if peak_first else float("inf")
    print(
        f"  CSV: first byte after {first_byte:.1f} ms, {rows:,} rows; traced memory peak "
        f"{peak_first:.1f} MB after {FIRST_ROWS:,} rows, {peak_all:.1f} MB at the end ({growth:.2f}x)"
    )
    print(f"  total {time.perf_counter() - began:.0f} s")
    print(f"target usage page p95 vs bare: {ratio:.2f}x (goal <= 5x) {'met' if ratio <= 5 else 'missed'}")
    print(
        f"target csv first byte: {first_byte:.1f} ms (goal <= 200 ms) {'met' if first_byte <= 200 else 'missed'}"
    )
    print(
        f"target csv memory flat: {growth:.2f}x the peak after {FIRST_ROWS:,} rows (goal <= 1.5x) "
        f"{'met' if growth <= 1.5 else 'missed'}"
    )


if __name__ == "__main__":
    main()
    # The audit page at 1,000,000 rows (issue 17's other page) runs in a process and database of its own.
    import subprocess

    sys.exit(
        subprocess.run(
            [sys.executable, str(Path(__file__).with_name("audit.py")), *sys.argv[1:]], check=False
        ).returncode
    )
