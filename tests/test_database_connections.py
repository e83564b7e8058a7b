"""The web process on PostgreSQL holds no more backends than its pool allows, however busy it is.

One uvicorn process, a pool of POOL_MAX_SIZE, then 200 signed-in pages with their live stream open
and 100 concurrent page requests on top. PostgreSQL's own `pg_stat_activity` counts the backends
connected to the portal's database throughout; every answer must be a 2xx.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.servers import BIN, Process, free_port, generated_secrets, run_checked

pytestmark = pytest.mark.integration

POOL_MAX_SIZE = 5
# The live stream's LISTEN connection (live/wakeups.py): one per process, outside the pool by design
# (a pooled connection would be taken away from requests for as long as the process lives).
LISTENERS = 1
OPEN_PAGES = 200
CONCURRENT_REQUESTS = 100

SESSION_SCRIPT = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
from partners.models import Partner
partner, _ = Partner.objects.get_or_create(partner_id="partner-acme", defaults={"name": "Acme", "tier": "gold"})
user, _ = User.objects.get_or_create(username="viewer@acme.example", defaults={"partner": partner, "role": "viewer"})
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url.replace("postgres://", "postgresql://", 1)
    pytest.skip("needs PostgreSQL: DATABASE_URL is not a postgres:// URL (CI sets one)")


def _backends(admin_url: str, database: str) -> int:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
    return int(row[0]) if row else 0


async def _open_stream(port: int, cookie: str) -> tuple[int, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /live/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 30)
    await asyncio.wait_for(reader.readuntil(b": connected"), 30)
    return int(status_line.split()[1]), writer


async def _get(port: int, cookie: str, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 60)
    await asyncio.wait_for(reader.read(), 60)
    writer.close()
    return int(status_line.split()[1])


async def _load(port: int, cookie: str) -> tuple[list[int], list[int]]:
    opened = await asyncio.gather(*(_open_stream(port, cookie) for _ in range(OPEN_PAGES)))
    pages = await asyncio.gather(
        *(_get(port, cookie, "/vms/" if i % 2 else "/healthz/ready") for i in range(CONCURRENT_REQUESTS))
    )
    for _, writer in opened:
        writer.close()
    return [status for status, _ in opened], list(pages)


def _in_own_thread(coroutine: Any) -> Any:
    """asyncio.run in a thread: the browser tests' Playwright keeps an event loop running in this one."""
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    runner.start()
    runner.join()
    assert result, "the load did not finish (see the traceback above)"
    return result[0]


def test_the_web_process_stays_within_its_pool_under_open_pages_and_a_burst(tmp_path: Path) -> None:
    base_url = _postgres_url()
    admin_url = base_url.rsplit("/", 1)[0] + "/postgres"
    port = free_port()
    database = f"portal_connections_{port}"
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
    env = {
        **os.environ,
        **generated_secrets(),
        "DATABASE_URL": base_url.rsplit("/", 1)[0] + "/" + database,
        "DATABASE_POOL_MAX_SIZE": str(POOL_MAX_SIZE),
        "PORTAL_ENV_FILE": "/dev/null",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "NOVACRON_API_URL": "http://127.0.0.1:9",
        "DEBUG": "0",
        "CELERY_QUEUE": f"connections-{port}",
        "LIVE_KEEPALIVE_SECONDS": "2",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    web = None
    try:
        run_checked([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        session_key = run_checked([sys.executable, "manage.py", "shell", "-c", SESSION_SCRIPT], env).split()[
            -1
        ]
        web = Process.start(
            "web",
            [
                str(BIN / "uvicorn"),
                "portal.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--timeout-graceful-shutdown",
                "1",
                "--log-level",
                "warning",
            ],
            env,
            tmp_path,
        )
        web.wait_for_http(f"http://127.0.0.1:{port}/healthz/live")

        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _backends(admin_url, database))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            streams, pages = _in_own_thread(_load(port, f"portal_sessionid={session_key}"))
        finally:
            done.set()
            sampler.join()

        print(
            f"peak {peak} backends for a pool of {POOL_MAX_SIZE} (+{LISTENERS} listener): "
            f"{OPEN_PAGES} open pages, {CONCURRENT_REQUESTS} concurrent requests"
        )
        assert streams == [200] * OPEN_PAGES, web.log_tail()
        assert [s for s in pages if s >= 300] == [], web.log_tail()
        assert 0 < peak <= POOL_MAX_SIZE + LISTENERS, f"{peak} backends for a pool of {POOL_MAX_SIZE}"
    finally:
        if web is not None:
            web.stop()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]
