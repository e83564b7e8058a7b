"""The sandbox's own security tests, run under the sandbox's settings (its own Django project).

They live in sandbox/tests because they need the sandbox in process: SSRF refusal for every
forbidden range (validation only, a substituted resolver: no traffic leaves loopback), redirect_uri
exactness and authorization-code replay.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SUITES = ["sandbox/tests/test_webhook_ssrf.py", "sandbox/tests/test_oauth_hardening.py"]


def test_the_sandbox_security_suites_pass() -> None:
    env = {**os.environ}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--ds=sandbox.settings", "-p", "no:cacheprovider", *SUITES],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
