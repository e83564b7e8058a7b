"""A token refresh holds no database lock while NovaCron is called, and one user's concurrent
refreshes (threads and processes) spend the refresh token exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.security.loopback_novacron import running

REPO = Path(__file__).resolve().parents[2]


def scenario_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PORTAL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONPATH": os.pathsep.join([str(REPO / "sdk"), str(REPO), os.environ.get("PYTHONPATH", "")]),
        **extra,
    }
    env.pop("REDIS_URL", None)  # the embedded default: the database cache is the cross-process lock
    return env


def scenario(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.security.refresh_scenarios", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def outcome(process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def test_a_webhook_is_accepted_while_a_refresh_hangs_on_novacron(tmp_path: Path) -> None:
    env = scenario_env(tmp_path, NOVACRON_TIMEOUT="1.5")
    outcome(scenario(env, "setup"))

    result = outcome(scenario(env, "webhook-while-refresh-hangs"))

    assert result["refresh_was_hanging"], result
    assert 200 <= result["status"] < 300, result
    # A lock held through the refresh would keep the webhook waiting the whole 1.5 s the call hangs;
    # half of that leaves room for a loaded machine and still tells the two apart.
    assert result["elapsed"] < 0.75, result
    # NovaCron never answered: the refresh gave up with a timeout instead of signing the user out.
    assert result["refresh_outcome"] == ["APITimeoutError"], result


@pytest.mark.parametrize("processes", [1, 2])
def test_concurrent_refreshes_make_one_call_to_novacron_and_all_use_the_winners_token(
    tmp_path: Path, processes: int
) -> None:
    env = scenario_env(tmp_path)
    outcome(scenario(env, "setup"))
    threads = 4
    with running(token_delay=0.4) as novacron:  # a slow answer keeps every refresh in the window
        start_at = f"{time.time() + 3:.3f}"  # after every process has started Django
        racers = [scenario(env, "refresh", novacron.issuer, str(threads), start_at) for _ in range(processes)]
        results = [outcome(racer) for racer in racers]
        token_requests = list(novacron.token_requests)

    assert token_requests == ["old-refresh"]
    for result in results:
        assert result["errors"] == []
        assert result["results"] == ["new-access-1"] * threads
        assert result["stored"] == ["new-access-1", "new-refresh-1"]
