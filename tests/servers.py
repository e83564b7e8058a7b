"""Real processes for integration and browser tests: the sandbox, the portal under uvicorn, a Celery
worker. Each binds a free port on 127.0.0.1, logs to a file, and is stopped (its process group) at
the end of the session.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# The Redis database the servers started by tests use; the test process itself uses the URL's own.
SERVERS_REDIS_DB = 1


def redis_database(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


def unreachable(database_url: str, redis_url: str) -> str | None:
    """Why PostgreSQL at `database_url` or Redis at `redis_url` does not answer; None when both do."""
    import psycopg
    import redis

    try:
        psycopg.connect(database_url, connect_timeout=2).close()
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_checked(
    args: list[str], env: Mapping[str, str], *, stdin: str | None = None, timeout: float = 300
) -> str:
    done = subprocess.run(
        args,
        cwd=REPO,
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Process:
    """A background process in its own process group, with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> Process:
        log = log_dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                args, cwd=REPO, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(name, popen, log)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_for_http(self, url: str, timeout: float = 90, headers: Mapping[str, str] | None = None) -> None:
        """Until `url` answers at all (any HTTP status), or fail with the process's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(url, headers=dict(headers or {})), timeout=2
                ):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout}s:\n{self.log_tail()}")

    def wait_for_log(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.log_tail()}")
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} never logged {text!r} within {timeout}s:\n{self.log_tail()}")

    def stop(self, grace: float = 10) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=grace)
        except ProcessLookupError:
            pass


@dataclass
class SandboxServer:
    url: str
    issuer: str
    database_url: str
    credentials: dict[str, dict[str, str]]
    client_id: str
    client_secret: str
    portal_port: int
    env: dict[str, str]
    process: Process
    logins: tuple[str, ...] = (
        "admin@acme.example",
        "operator@acme.example",
        "viewer@acme.example",
        "admin@globex.example",
        "admin@initech.example",
    )
    password: str = "novacron"


@dataclass
class PortalServer:
    url: str
    env: dict[str, str]
    process: Process
    sandbox: SandboxServer
    log_dir: Path = field(default_factory=Path)

    def manage(self, *args: str, stdin: str | None = None) -> str:
        """Run a management command against the server's database."""
        return run_checked([sys.executable, "manage.py", *args], self.env, stdin=stdin)


def start_sandbox(
    tmp: Path,
    *,
    vms: int = 200,
    extra_env: Mapping[str, str] | None = None,
    oidc_profile: str = "novacron",
) -> SandboxServer:
    """`oidc_profile="plain"`: its authorization server behaves as a standard OpenID provider
    (sandbox/identity/profile.py) instead of NovaCron's own."""
    port, portal_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{tmp / 'sandbox.sqlite3'}"
    env = {
        **os.environ,
        "SANDBOX_DATABASE_URL": database_url,
        "SANDBOX_BASE_URL": url,
        # Fast simulated time and short retry delays so flows finish within a test.
        "SANDBOX_TIME_SCALE": "30",
        "SANDBOX_ENGINE_INTERVAL": "0.5",
        "SANDBOX_WEBHOOK_RETRY_SCHEDULE": "[1, 1, 2, 2, 3, 5, 5]",
        "SANDBOX_ACCESS_TOKEN_LIFETIME": "600",
        # The portals' webhook receivers are local: the one local host the sandbox may deliver to. Any
        # port of it: besides `portal_port`, the live pipeline's portals take free ports of their own.
        "SANDBOX_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "SANDBOX_OIDC_PROFILE": oidc_profile,
        **(extra_env or {}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    python = sys.executable
    run_checked([python, "-m", "sandbox", "migrate", "--noinput", "-v", "0"], env)
    run_checked([python, "-m", "sandbox", "seed", "--vms", str(vms)], env)
    credentials = json.loads(run_checked([python, "-m", "sandbox", "partner-credentials", "--json"], env))
    registration = json.loads(
        run_checked(
            [
                python,
                "-m",
                "sandbox",
                "register-client",
                "--redirect-uri",
                f"http://127.0.0.1:{portal_port}/accounts/callback/",
                "--base-url",
                url,
                "--json",
            ],
            env,
        )
    )
    process = Process.start("sandbox", [python, "-m", "sandbox", "serve", "--port", str(port)], env, tmp)
    process.wait_for_http(f"{url}/healthz")
    return SandboxServer(
        url=url,
        issuer=registration.get("issuer") or f"{url}/oauth",
        database_url=database_url,
        credentials={row["partner_id"]: row for row in credentials},
        client_id=registration["client_id"],
        client_secret=registration["client_secret"],
        portal_port=portal_port,
        env=env,
        process=process,
    )


@functools.cache
def _session_secrets() -> tuple[str, str]:
    return secrets.token_urlsafe(50), Fernet.generate_key().decode()


def generated_secrets() -> dict[str, str]:
    """Secrets for a portal with DEBUG off (its system checks refuse the development ones): made once
    per test run, because the portals a run starts under CI share one database and must read each
    other's encrypted rows."""
    secret_key, encryption_key = _session_secrets()
    return {"SECRET_KEY": secret_key, "TOKEN_ENCRYPTION_KEYS": encryption_key}


def portal_env(sandbox: SandboxServer, tmp: Path, *, own_stores: bool = False) -> dict[str, str]:
    """`own_stores`: a SQLite file and the filesystem broker of its own even under CI, for a portal
    whose users must not meet those of the suite's portal (they sign in at another sandbox)."""
    site = f"http://127.0.0.1:{sandbox.portal_port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        # Its own database file (or the CI database), never the test process's in-memory one.
        "DATABASE_URL": (not own_stores and os.environ.get("DATABASE_URL"))
        or f"sqlite:///{tmp / 'portal.sqlite3'}",
        "PORTAL_VAR_DIR": str(tmp / "portal-var"),
        "PORTAL_ENV_FILE": "/dev/null",
        "NOVACRON_API_URL": sandbox.url,
        "NOVACRON_OAUTH_ISSUER": sandbox.issuer,
        "NOVACRON_CLIENT_ID": sandbox.client_id,
        "NOVACRON_CLIENT_SECRET": sandbox.client_secret,
        "NOVACRON_FORM_ACTION_ORIGINS": sandbox.url,
        "SITE_URL": site,
        "WEBHOOK_RECEIVER_URL": site + "/webhooks/novacron/{partner_id}/",
        "DEBUG": "0",
        **generated_secrets(),
        # Its own Celery queue: with a shared Redis broker, the suite's tasks never reach this worker.
        "CELERY_QUEUE": f"e2e-{sandbox.portal_port}",
    }
    if own_stores:
        env.pop("REDIS_URL", None)
    if env.get("REDIS_URL"):
        # Its own Redis database for the cache (locks, heartbeats, debounces), apart from the suite's.
        env["REDIS_URL"] = redis_database(env["REDIS_URL"], SERVERS_REDIS_DB)
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def start_portal(
    sandbox: SandboxServer,
    tmp: Path,
    *,
    partners: tuple[str, ...] = ("partner-acme", "partner-globex"),
    own_stores: bool = False,
) -> PortalServer:
    env = portal_env(sandbox, tmp, own_stores=own_stores)
    python = sys.executable
    run_checked([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    rows = [sandbox.credentials[p] for p in partners]
    run_checked(
        [python, "manage.py", "import_partners", "-", "--only", ",".join(partners)],
        env,
        stdin=json.dumps(rows),
    )
    url = f"http://127.0.0.1:{sandbox.portal_port}"
    process = Process.start(
        "portal",
        [
            str(BIN / "uvicorn"),
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(sandbox.portal_port),
            "--timeout-graceful-shutdown",
            "2",
            "--log-level",
            "warning",
        ],
        env,
        tmp,
    )
    process.wait_for_http(f"{url}/accounts/login/")
    return PortalServer(url=url, env=env, process=process, sandbox=sandbox, log_dir=tmp)


def start_worker(portal: PortalServer, tmp: Path) -> Process:
    args = [
        str(BIN / "celery"),
        "-A",
        "portal",
        "worker",
        "--beat",
        "--pool",
        "threads",
        "--concurrency",
        "4",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "info",
    ]
    process = Process.start("worker", args, portal.env, tmp)
    process.wait_for_log("ready.")
    return process
