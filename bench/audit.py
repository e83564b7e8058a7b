"""Audit log benchmark: the audit page at 1,000,000 rows against the bare layout, and the CSV export's
time to first byte and memory.

Run: `.venv/bin/python bench/audit.py` (a few minutes). It runs on PostgreSQL when one answers at
`BENCH_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/bench_audit, recreated each run; Redis
db 10 for the cache), else on a temporary SQLite file. The rows are inserted by one INSERT … SELECT per
batch (bounded time, no Python objects per row). Page figures are server times measured in-process
with Django's test client, the audit pages and the bare page interleaved so all see the same load.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
WORK = Path(tempfile.mkdtemp(prefix="bench-audit-"))
ROWS = int(os.environ.get("BENCH_AUDIT_ROWS", "1000000"))
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_audit")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")


def _postgres_answers() -> bool:
    try:
        import psycopg

        name = PG_URL.rsplit("/", 1)[1]
        with psycopg.connect(
            PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=3
        ) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        return True
    except Exception as error:  # no server, no rights: fall back to SQLite
        print(f"PostgreSQL not used ({error}); SQLite instead")
        return False


ON_POSTGRES = _postgres_answers()
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": PG_URL if ON_POSTGRES else f"sqlite:///{WORK / 'portal.sqlite3'}",
        "PORTAL_VAR_DIR": str(WORK / "var"),
        "PORTAL_ENV_FILE": "/dev/null",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
)
if ON_POSTGRES:
    os.environ["REDIS_URL"] = REDIS_URL

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
from audit.models import AuditEntry  # noqa: E402
from audit.selectors import AuditFilters, Cursor, entry_list  # noqa: E402
from bench import timing  # noqa: E402
from partners.models import Partner  # noqa: E402

ITERATIONS = 150
WARMUP = 15
PEOPLE = 20
ACTIONS = [
    "vm.start",
    "vm.stop",
    "vm.delete",
    "vm.create",
    "migration.start",
    "migration.cancel",
    "integration.update",
    "webhook_subscription.rotate_secret",
    "notification.acknowledge",
    "scope.grant",
    "admin.change",
]


@partner_required
def bare_page(request: HttpRequest) -> HttpResponse:
    """The base layout and nothing else, behind the same sign-in check as the audit page."""
    return render(request, "_base.html")


def install_bare_page() -> None:
    portal.urls.urlpatterns.insert(0, path("bench/bare/", bare_page))
    clear_url_caches()


def fill(partners: list[Partner], people: list[User]) -> float:
    """ROWS rows over a year, 3 of 4 of the first partner's, in INSERT … SELECT batches; seconds taken."""
    started = time.perf_counter()
    table = AuditEntry._meta.db_table
    actions_sql = "ARRAY[" + ",".join(f"'{a}'" for a in ACTIONS) + "]"
    people_sql = "ARRAY[" + ",".join(str(p.pk) for p in people) + "]"
    labels_sql = "ARRAY[" + ",".join(f"'{p.email}'" for p in people) + "]"
    batch = 100_000
    with connection.cursor() as cursor:
        for start in range(0, ROWS, batch):
            count = min(batch, ROWS - start)
            if ON_POSTGRES:
                cursor.execute(
                    f"""
                    INSERT INTO {table} (created_at, partner_id, actor_id, actor_label, actor_role, address,
                        action, object_type, object_id, object_link, parameters, outcome, error_code,
                        novacron_request_id, reason, request_id)
                    SELECT now() - make_interval(secs => (%s - n) * 31.5),
                        CASE WHEN n %% 4 = 3 THEN %s ELSE %s END,
                        ({people_sql})[1 + (n / 4) %% {len(people)}], ({labels_sql})[1 + (n / 4) %% {len(people)}],
                        'operator', '10.0.0.1', ({actions_sql})[1 + (n / 7) %% {len(ACTIONS)}], 'vm',
                        'vm-' || lpad((n %% 100000)::text, 7, '0'), '', '{{}}'::jsonb,
                        CASE WHEN n %% 10 = 0 THEN 'refused_novacron' ELSE 'success' END,
                        '', '', '', ''
                    FROM generate_series(%s, %s) AS n
                    """,
                    [ROWS, partners[1].pk, partners[0].pk, start, start + count - 1],
                )
            else:
                cursor.execute(
                    f"""
                    WITH RECURSIVE seq(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM seq WHERE n < %s)
                    INSERT INTO {table} (created_at, partner_id, actor_id, actor_label, actor_role, address,
                        action, object_type, object_id, object_link, parameters, outcome, error_code,
                        novacron_request_id, reason, request_id)
                    SELECT strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || ((%s - n) * 31.5) || ' seconds'),
                        CASE WHEN n %% 4 = 3 THEN %s ELSE %s END,
                        %s + (n / 4) %% {len(people)}, 'person' || ((n / 4) %% {len(people)}) || '@acme.example',
                        'operator', '10.0.0.1', 'vm.stop', 'vm',
                        'vm-' || (n %% 100000), '', '{{}}', 'success', '', '', '', ''
                    FROM seq
                    """,
                    [start, start + count - 1, ROWS, partners[1].pk, partners[0].pk, people[0].pk],
                )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def measure(client: Client, urls: dict[str, str]) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of each URL, requests interleaved (bench/timing.py)."""
    return timing.measure(client, urls, warmup=WARMUP, iterations=ITERATIONS)


def deep_cursor(partner: Partner, filters: AuditFilters, position: int) -> str:
    """The cursor a person reaches after `position` rows of paging (found once, by offset, for the bench)."""
    row = entry_list(partner=partner, filters=filters).values_list("created_at", "id")[position]
    return Cursor(row[0], row[1]).token()


def export(client: Client, query: str) -> tuple[float, int, int, float]:
    """Time to the first chunk (ms), rows, peak traced memory (bytes) and total seconds of one export."""
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/audit/export.csv" + query)
    chunks = iter(response.streaming_content)
    first = next(chunks)
    ttfb = (time.perf_counter() - started) * 1000
    lines = first.count(b"\n")
    for chunk in chunks:
        lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return ttfb, lines - 1, peak, total


def main() -> None:
    call_command("migrate", verbosity=0)
    acme = Partner.objects.create(partner_id="partner-acme", name="Acme", tier="gold")
    globex = Partner.objects.create(partner_id="partner-globex", name="Globex", tier="silver")
    people = [
        User.objects.create_user(
            f"person{n}@acme.example", f"person{n}@acme.example", partner=acme, role="operator"
        )
        for n in range(PEOPLE)
    ]
    admin = User.objects.create_user("admin@acme.example", "admin@acme.example", partner=acme, role="admin")
    seconds = fill([acme, globex], people)
    print(
        f"database: {connection.vendor}; {AuditEntry.objects.count():,} audit rows inserted in {seconds:.1f} s"
    )

    install_bare_page()
    client = Client()
    client.force_login(admin)
    person = people[3]
    by_person = AuditFilters(person=person.pk)
    by_action = AuditFilters(action="vm.stop")
    person_rows = entry_list(partner=acme, filters=by_person).count()
    action_rows = entry_list(partner=acme, filters=by_action).count()
    urls = {
        "bare": "/bench/bare/",
        "first": "/audit/",
        "first_person": f"/audit/?person={person.pk}",
        "deep_person": f"/audit/?person={person.pk}&after={deep_cursor(acme, by_person, person_rows * 9 // 10)}",
        "deep_action": f"/audit/?action=vm.stop&after={deep_cursor(acme, by_action, min(50_000, action_rows // 2))}",
    }
    results = measure(client, urls)
    bare_p95 = results["bare"][1]
    print(
        f"the person's rows: {person_rows:,}, vm.stop's: {action_rows:,}; the deep pages start 90% into the "
        "person's and 50,000 rows (or half) into vm.stop's"
    )
    for name, (p50, p95) in results.items():
        print(f"{name:>13}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({p95 / bare_p95:.2f}x bare p95)")

    # The large export: the partner's newest 200,000 rows (from a day boundary); the small one: one
    # person's rows of the same days.
    newest = (
        AuditEntry.objects.filter(partner=acme).order_by("-created_at").values_list("created_at", flat=True)
    )
    since = newest[min(200_000, newest.count() - 1)].date()
    small = export(client, f"?person={person.pk}&since={since}")
    large = export(client, f"?since={since}")
    for label, (ttfb, rows, peak, total) in (("small", small), ("large", large)):
        print(
            f"CSV export ({label}): {rows:,} rows, first byte {ttfb:.1f} ms, whole {total:.1f} s, "
            f"peak traced memory {peak / 1e6:.1f} MB"
        )
    memory_ratio = large[2] / small[2]
    print(f"CSV memory: {large[1] / max(small[1], 1):.1f}x the rows took {memory_ratio:.2f}x the peak memory")

    for name, label in (
        ("first", "first page"),
        ("first_person", "first page by person"),
        ("deep_person", "deep page by person"),
        ("deep_action", "deep page by action"),
    ):
        ratio = results[name][1] / bare_p95
        print(f"target audit {label} p95: {ratio:.2f}x bare (goal <= 3x) {'met' if ratio <= 3 else 'missed'}")
    ttfb = max(small[0], large[0])
    print(
        f"target CSV time to first byte: {ttfb:.1f} ms (goal <= 200 ms) {'met' if ttfb <= 200 else 'missed'}"
    )
    print(
        f"target CSV memory flat: {memory_ratio:.2f}x for {large[1] / max(small[1], 1):.1f}x the rows (goal <= 1.5x) {'met' if memory_ratio <= 1.5 else 'missed'}"
    )


if __name__ == "__main__":
    main()
