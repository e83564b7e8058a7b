"""Session fixtures that start real servers (integration and browser tests share them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import SandboxServer, start_sandbox


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A seeded sandbox (200 VMs, fast simulated time) on a free port, with the portal registered
    as its OAuth client for the port `portal_server` will use. Yields its URL and credentials."""
    tmp: Path = tmp_path_factory.mktemp("sandbox")
    server = start_sandbox(tmp)
    yield server
    server.process.stop()
