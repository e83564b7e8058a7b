from __future__ import annotations

import time

import novacron
import pytest

from tests.servers import PortalServer, Process

pytestmark = pytest.mark.integration


def test_a_starting_worker_subscribes_every_partner_to_the_portals_webhook_receiver(
    portal_server: PortalServer, celery_worker_process: Process
) -> None:
    sandbox = portal_server.sandbox
    for partner_id in ("partner-acme", "partner-globex"):
        row = sandbox.credentials[partner_id]
        client = novacron.Client(
            novacron.SDKConfig(
                base_url=sandbox.url,
                partner_id=partner_id,
                api_key=row["api_key"],
                api_secret=row["api_secret"],
            )
        )
        receiver = f"{portal_server.url}/webhooks/novacron/{partner_id}/"
        deadline = time.monotonic() + 30
        while True:
            ours = [s for s in client.list_webhooks(limit=500).data if s.url == receiver]
            if ours or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(ours) == 1, celery_worker_process.log_tail()
        assert ours[0].status == "active"
        assert "migration.progress" in ours[0].events and "vm.created" in ours[0].events
