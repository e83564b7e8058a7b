"""The portal deployed as README's production section describes it, for the smoke test.

Static files collected into a temporary STATIC_ROOT, `DJANGO_ENV=production` with DEBUG off and freshly
generated secrets (`portal_env`), uvicorn with two workers trusting the proxy's `X-Forwarded-Proto`, a Celery worker
and a separate beat. On PostgreSQL and Redis when `DATABASE_URL` and `REDIS_URL` name them (its own
database and Redis database, so it never meets the suite's other portals), else SQLite and the
filesystem broker.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers import BIN, Process, SandboxServer, portal_env, redis_database, run_checked

# The Redis database the smoke deployment uses, apart from the suite's (0).
SMOKE_REDIS_DB = 3
# What the browser sends, as a TLS-terminating proxy would on every request it forwards.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


@dataclass
class ProductionPortal:
    url: str
    env: dict[str, str]
    sandbox: SandboxServer
    processes: list[Process]
    dropped_database: str | None = None

    def healthy(self) -> bool:
        """Every process still running, and readiness answering 200."""
        if any(process.popen.poll() is not None for process in self.processes):
            return False
        request = urllib.request.Request(f"{self.url}/healthz/ready", headers=PROXY_HEADERS)
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)

    def logs(self) -> str:
        return "\n\n".join(f"== {p.name}\n{p.log_tail(60)}" for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        if self.dropped_database:
            _postgres(f'DROP DATABASE IF EXISTS "{self.dropped_database}" WITH (FORCE)')


def _postgres(statement: str) -> None:
    import psycopg

    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _own_postgres_database(port: int) -> tuple[str, str]:
    name = f"portal_smoke_{port}"
    _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _postgres(f'CREATE DATABASE "{name}"')
    return name, os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name


def production_env(sandbox: SandboxServer, tmp: Path) -> tuple[dict[str, str], str | None]:
    env = portal_env(sandbox, tmp)
    port = sandbox.portal_port
    env.update(
        {
            "DJANGO_ENV": "production",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "STATIC_ROOT": str(tmp / "static"),
            # The browser talks plain HTTP while the header claims HTTPS, so its Origin is http://; behind
            # a real proxy the browser is on https:// and this setting is not needed.
            "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
            "CELERY_QUEUE": f"smoke-{port}",
            # The header comes from the browser, which cannot add it to the redirects NovaCron's sign-in
            # sends it through (nor does NovaCron's webhook delivery): as behind a proxy that redirects to
            # HTTPS itself, the portal does not redirect.
            "SECURE_SSL_REDIRECT": "0",
        }
    )
    env.pop("WHITENOISE_USE_FINDERS", None)
    database = None
    if env["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        database, env["DATABASE_URL"] = _own_postgres_database(port)
    if env.get("REDIS_URL"):
        env["REDIS_URL"] = redis_database(env["REDIS_URL"], SMOKE_REDIS_DB)
    return env, database


def start_production_portal(sandbox: SandboxServer, tmp: Path) -> ProductionPortal:
    env, database = production_env(sandbox, tmp)
    python = sys.executable
    run_checked([python, "manage.py", "collectstatic", "--noinput", "-v", "0"], env)
    run_checked([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    rows = [sandbox.credentials[p] for p in ("partner-acme", "partner-globex")]
    run_checked([python, "manage.py", "import_partners", "-"], env, stdin=json.dumps(rows))
    url = f"http://127.0.0.1:{sandbox.portal_port}"
    web = Process.start(
        "web",
        [
            str(BIN / "uvicorn"),
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(sandbox.portal_port),
            "--workers",
            "2",
            "--proxy-headers",
            "--forwarded-allow-ips",
            "127.0.0.1",
            "--timeout-graceful-shutdown",
            "2",
        ],
        env,
        tmp,
    )
    worker = Process.start(
        "worker",
        [
            str(BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--concurrency",
            "2",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ],
        env,
        tmp,
    )
    beat = Process.start("beat", [str(BIN / "celery"), "-A", "portal", "beat", "-l", "info"], env, tmp)
    portal = ProductionPortal(
        url=url, env=env, sandbox=sandbox, processes=[web, worker, beat], dropped_database=database
    )
    try:
        web.wait_for_http(f"{url}/accounts/login/", headers=PROXY_HEADERS)
        worker.wait_for_log("ready.")
    except Exception:
        portal.stop()
        raise
    return portal
