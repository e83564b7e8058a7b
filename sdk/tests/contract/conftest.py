"""A real sandbox process for the SDK's contract tests: its own database, seeded, on a free port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from novacron import Client
from sandbox_process import REPO_ROOT, Sandbox, running_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    if not (REPO_ROOT / "sandbox" / "__main__.py").exists():
        pytest.skip("the sandbox is not in this checkout")
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
def acme(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client("partner-acme") as client:
        yield client


@pytest.fixture
def globex(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client("partner-globex") as client:
        yield client
