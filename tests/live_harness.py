"""Real processes for the live-update pipeline (integration test and benchmarks): the portal under
uvicorn on a free port with its own database, optionally Redis, a Celery worker, a signed-in session.

Built on tests/servers.py; unlike `portal_server` it needs no OAuth port, so several can run at once.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.servers import (
    BIN,
    PortalServer,
    Process,
    SandboxServer,
    free_port,
    generated_secrets,
    portal_env,
    run_checked,
)


def live_portal_env(
    tmp: Path, *, port: int, sandbox: SandboxServer | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    if sandbox is not None:
        env = portal_env(sandbox, tmp)
    else:
        import os

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_ENV_FILE": "/dev/null",
            "DATABASE_URL": f"sqlite:///{tmp / 'portal.sqlite3'}",
            "PORTAL_VAR_DIR": str(tmp / "portal-var"),
            "DEBUG": "0",
            **generated_secrets(),
        }
        env.pop("PYTEST_CURRENT_TEST", None)
    site = f"http://127.0.0.1:{port}"
    env.update({"SITE_URL": site, "WEBHOOK_RECEIVER_URL": site + "/webhooks/novacron/{partner_id}/"})
    env.pop("REDIS_URL", None)
    env.update(extra or {})
    return env


def start_live_portal(
    tmp: Path,
    *,
    sandbox: SandboxServer | None = None,
    extra_env: Mapping[str, str] | None = None,
    uvicorn_args: tuple[str, ...] = (),
) -> PortalServer:
    port = free_port()
    env = live_portal_env(tmp, port=port, sandbox=sandbox, extra=extra_env)
    run_checked([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    url = f"http://127.0.0.1:{port}"
    process = Process.start(
        "portal",
        [
            str(BIN / "uvicorn"),
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--timeout-graceful-shutdown",
            "2",
            "--log-level",
            "warning",
            *uvicorn_args,
        ],
        env,
        tmp,
    )
    process.wait_for_http(f"{url}/healthz")
    return PortalServer(url=url, env=env, process=process, sandbox=sandbox, log_dir=tmp)  # type: ignore[arg-type]


def start_live_worker(
    portal: PortalServer,
    tmp: Path,
    *,
    concurrency: int = 4,
    beat: bool = True,
    name: str = "worker",
    nice: int = 0,
) -> Process:
    """A Celery worker process; give each of several its own `name` (its node name and log file).
    `nice`: run it at that lower CPU priority, as a deployment runs background work under its pages."""
    args = [
        *(["nice", "-n", str(nice)] if nice else []),
        str(BIN / "celery"),
        "-A",
        "portal",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"{name}@%h",
        "-l",
        "info",
    ]
    if beat:
        args += ["--beat"]
    process = Process.start(name, args, portal.env, tmp)
    process.wait_for_log("ready.")
    return process


def portal_python(portal: PortalServer, code: str) -> str:
    """Run Python with Django set up against the portal's database; returns what it printed."""
    return run_checked([sys.executable, "manage.py", "shell", "-c", code], portal.env)


def wait_until_processed(portal: PortalServer, *, timeout: float) -> float:
    """Wait (at most `timeout` s) until no stored webhook event is left unprocessed; seconds waited."""
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        left = portal_python(
            portal,
            "from webhooks.models import WebhookEvent; "
            "print(WebhookEvent.objects.filter(status='received').count())",
        ).split()[-1]
        if left == "0":
            break
        time.sleep(1)
    return time.monotonic() - started


def signed_in_session(
    portal: PortalServer, *, partner_id: str, email: str, role: str = "operator"
) -> tuple[str, str]:
    """A session cookie for a user of `partner_id` (the SSE stream needs one; no OAuth involved)."""
    code = f"""
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
from partners.models import Partner
partner = Partner.objects.get(partner_id={partner_id!r})
user, _ = User.objects.get_or_create(username={email!r}, defaults=dict(email={email!r}, partner=partner, role={role!r}))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(settings.SESSION_COOKIE_NAME, session.session_key)
"""
    name, key = portal_python(portal, code).split()[-2:]
    return name, key


def create_partner(portal: PortalServer, *, partner_id: str, webhook_secret: str) -> None:
    portal_python(
        portal,
        f"""
from partners.models import Partner
Partner.objects.update_or_create(partner_id={partner_id!r}, defaults=dict(name={partner_id!r},
    webhook_secret={webhook_secret!r}))
""",
    )


def import_partner(portal: PortalServer, sandbox: SandboxServer, partner_id: str) -> None:
    run_checked(
        [sys.executable, "manage.py", "import_partners", "-", "--only", partner_id],
        portal.env,
        stdin=json.dumps([sandbox.credentials[partner_id]]),
    )
    portal_python(
        portal,
        f"""
from partners.models import Partner
from webhooks.subscriptions import webhook_subscription_ensure
print(webhook_subscription_ensure(partner=Partner.objects.get(partner_id={partner_id!r})))
""",
    )
