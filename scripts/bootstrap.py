"""Everything `make run` needs before it starts the processes; safe to run again and again.

Migrates both databases, seeds the sandbox when it is empty, registers the portal as an OAuth
client, writes .env, imports the partners with their credentials and creates a demo admin.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = Path(os.environ.get("PORTAL_ENV_FILE", ROOT / ".env"))
PY = sys.executable
DEMO_ADMIN = "admin"


def run(*args: str, capture: bool = False, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - fixed commands
        [PY, *args],
        cwd=ROOT,
        check=False,
        text=True,
        input=stdin,
        capture_output=capture,
    )
    if done.returncode != 0:
        if capture:
            sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bootstrap: `{' '.join(args)}` failed ({done.returncode})")
    return done.stdout if capture else ""


def read_env() -> dict[str, str]:
    values: dict[str, str] = {}
    if ENV_FILE.is_file():
        for line in ENV_FILE.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def write_env(values: dict[str, str]) -> None:
    lines = ["# Written by scripts/bootstrap.py (make run); the real environment wins over these."]
    lines += [f"{key}={value}" for key, value in values.items()]
    ENV_FILE.write_text("\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)


def sandbox_credentials() -> list[dict[str, str]]:
    return json.loads(run("-m", "sandbox", "partner-credentials", "--json", capture=True) or "[]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--portal-port", type=int, default=8000)
    parser.add_argument("--sandbox-port", type=int, default=8001)
    args = parser.parse_args()
    portal_url = f"http://127.0.0.1:{args.portal_port}"
    sandbox_url = f"http://127.0.0.1:{args.sandbox_port}"

    print("== sandbox: migrate and seed")
    run("-m", "sandbox", "migrate", "--noinput", "-v", "0")
    credentials = sandbox_credentials()
    if not credentials:
        run("-m", "sandbox", "seed", capture=True)
        credentials = sandbox_credentials()

    print("== sandbox: register the portal as an OAuth client")
    registration = json.loads(
        run(
            "-m",
            "sandbox",
            "register-client",
            "--redirect-uri",
            f"{portal_url}/accounts/callback/",
            "--base-url",
            sandbox_url,
            "--json",
            capture=True,
        )
    )
    env = read_env()
    env.update(
        {
            "NOVACRON_CLIENT_ID": registration["client_id"],
            "NOVACRON_CLIENT_SECRET": registration["client_secret"],
            "NOVACRON_API_URL": sandbox_url,
            "NOVACRON_OAUTH_ISSUER": registration.get("issuer") or f"{sandbox_url}/oauth",
            "NOVACRON_FORM_ACTION_ORIGINS": sandbox_url,
            "SITE_URL": portal_url,
        }
    )
    env.setdefault("PORTAL_ADMIN_PASSWORD", secrets.token_urlsafe(12))
    write_env(env)

    print("== portal: migrate, import partners, demo admin")
    # Child processes read the new .env through settings.py.
    run("manage.py", "migrate", "--noinput", "-v", "0")
    run("manage.py", "import_partners", "-", stdin=json.dumps(credentials))
    run(
        "manage.py",
        "shell",
        "--no-imports",
        "-c",
        (
            "from accounts.models import User\n"
            f"u, _ = User.objects.get_or_create(username={DEMO_ADMIN!r}, defaults={{'email': 'admin@portal.example'}})\n"
            "u.is_staff = u.is_superuser = True\n"
            f"u.set_password({env['PORTAL_ADMIN_PASSWORD']!r})\n"
            "u.save()\n"
        ),
    )

    print("== ready to start: the processes follow (scripts/run.py prints where to click once they answer)")


if __name__ == "__main__":
    main()
