"""`make run`'s last step: the Procfile's processes under honcho, then where to click.

The banner comes last, once the portal, the sandbox and the worker answer, so it is not buried under
their start-up lines. When a process dies, honcho stops the others; this names the one that died
and repeats its last lines.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HONCHO = ROOT / ".venv" / "bin" / "honcho"
SANDBOX_LOGINS = (
    "admin@acme.example",
    "operator@acme.example",
    "viewer@acme.example",
    "admin@globex.example",
)
START_TIMEOUT_S = 120
# honcho's own lines: "12:00:00 system | worker.1 stopped (rc=1)", "... | sending SIGTERM to web.1 ..."
LINE = re.compile(r"^\S+ (?P<name>[\w.]+)\s*\| (?P<text>.*)$")
STOPPED = re.compile(r"^(?P<name>[\w]+)\.\d+ stopped \(rc=(?P<rc>-?\d+)\)")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http:// URLs
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def banner(portal_url: str, sandbox_url: str) -> str:
    return f"""
================================================================================
NovaCron Partner Portal   {portal_url}/
NovaCron sandbox          {sandbox_url}/
Sign in with NovaCron as  {", ".join(SANDBOX_LOGINS)}
                          (password: novacron; admin@initech.example shows "organisation not set up")
Django admin              {portal_url}/admin/  user admin, password: PORTAL_ADMIN_PASSWORD in .env
Stop with Ctrl-C.
================================================================================
"""


class Supervisor:
    def __init__(self, portal_url: str, sandbox_url: str) -> None:
        self.portal_url = portal_url
        self.sandbox_url = sandbox_url
        self.recent: dict[str, collections.deque[str]] = collections.defaultdict(
            lambda: collections.deque(maxlen=15)
        )
        self.worker_ready = threading.Event()
        self.stopping = threading.Event()
        self.died: tuple[str, int] | None = None

    def read(self, line: str) -> None:
        sys.stdout.write(line)
        sys.stdout.flush()
        match = LINE.match(line.rstrip("\n"))
        if not match:
            return
        name, text = match["name"].split(".")[0], match["text"]
        if name != "system":
            self.recent[name].append(text)
            if name == "worker" and " ready." in text:
                self.worker_ready.set()
            return
        if text.startswith("sending SIGTERM"):
            self.stopping.set()
        stopped = STOPPED.match(text)
        if stopped and not self.stopping.is_set() and self.died is None:
            # Stopped before honcho began stopping everyone: this one died on its own.
            self.died = (stopped["name"], int(stopped["rc"]))

    def announce_when_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and not self.stopping.is_set():
            if (
                answers(f"{self.portal_url}/healthz/ready")
                and answers(f"{self.sandbox_url}/healthz")
                and self.worker_ready.is_set()
            ):
                sys.stdout.write(banner(self.portal_url, self.sandbox_url))
                sys.stdout.flush()
                return
            time.sleep(0.5)
        if not self.stopping.is_set():
            sys.stdout.write(
                f"\nmake run: not everything answered within {START_TIMEOUT_S} s; see the lines above.\n"
            )

    def report(self) -> None:
        if self.died is None:
            return
        name, rc = self.died
        sys.stdout.write(
            f"\nmake run: the `{name}` process died (exit code {rc}), so honcho stopped the others.\n"
        )
        if self.recent[name]:
            sys.stdout.write("Its last lines:\n  " + "\n  ".join(self.recent[name]) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--portal-port", type=int, default=8000)
    parser.add_argument("--sandbox-port", type=int, default=8001)
    args = parser.parse_args()
    supervisor = Supervisor(f"http://127.0.0.1:{args.portal_port}", f"http://127.0.0.1:{args.sandbox_port}")
    env = {**os.environ, "PORTAL_PORT": str(args.portal_port), "SANDBOX_PORT": str(args.sandbox_port)}
    # The sandbox delivers webhooks only to public addresses and to the hosts named here: the local
    # portal's receiver (SITE_URL, which bootstrap writes as 127.0.0.1:PORTAL_PORT).
    env.setdefault("SANDBOX_WEBHOOK_ALLOWED_HOSTS", f"127.0.0.1:{args.portal_port}")
    honcho = subprocess.Popen(  # noqa: S603 - our own honcho
        [str(HONCHO), "start"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    # Stopped by a signal rather than Ctrl-C (which reaches honcho too): honcho stops its processes
    # instead of leaving them orphaned.
    signal.signal(signal.SIGTERM, lambda signum, frame: honcho.send_signal(signal.SIGTERM))
    threading.Thread(target=supervisor.announce_when_up, daemon=True).start()
    assert honcho.stdout is not None
    try:
        for line in honcho.stdout:
            supervisor.read(line)
    except KeyboardInterrupt:
        # Ctrl-C reached honcho too (same process group): it stops everything; keep echoing it.
        supervisor.stopping.set()
        for line in honcho.stdout:
            supervisor.read(line)
    rc = honcho.wait()
    supervisor.report()
    return 1 if supervisor.died else rc


if __name__ == "__main__":
    sys.exit(main())
