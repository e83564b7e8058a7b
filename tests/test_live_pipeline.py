"""The whole live path with real processes: a sandbox migration → signed webhooks → the portal's
receiver → a real Celery worker on Redis → the outbox → an SSE client, in order, to completion."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import novacron
import pytest
from novacron.config import SDKConfig

from tests.live_harness import (
    import_partner,
    portal_python,
    signed_in_session,
    start_live_portal,
    start_live_worker,
)
from tests.servers import PortalServer, Process, SandboxServer
from tests.sse_client import SSEMessage, open_stream, read_messages

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/13"
DEADLINE_SECONDS = 150


def _redis_or_skip() -> None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.flushdb()
    except Exception as exc:  # the test needs Redis; CI provides it
        pytest.skip(f"Redis unavailable at {REDIS_URL}: {exc}")


@pytest.fixture(scope="module")
def live_stack(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PortalServer, Process]]:
    _redis_or_skip()
    tmp: Path = tmp_path_factory.mktemp("live-pipeline")
    portal = start_live_portal(tmp, sandbox=sandbox_server, extra_env={"REDIS_URL": REDIS_URL})
    try:
        import_partner(portal, sandbox_server, "partner-acme")
        worker = start_live_worker(portal, tmp, beat=False)
    except Exception:
        portal.process.stop()
        raise
    yield portal, worker
    worker.stop()
    portal.process.stop()


def _acme_client(sandbox: SandboxServer) -> novacron.Client:
    credentials = sandbox.credentials["partner-acme"]
    return novacron.Client(
        SDKConfig(
            base_url=sandbox.url,
            partner_id="partner-acme",
            api_key=credentials["api_key"],
            api_secret=credentials["api_secret"],
        )
    )


def _start_quick_live_migration(client: novacron.Client) -> str:
    """The smallest running VM, to another cluster in its own cloud and region when there is one."""
    vms = list(client.iter_vms(status="running"))
    vm = min(vms, key=lambda v: (v.disk_size_gb, v.memory_gb))
    clusters = [c for c in client.list_clusters() if c.cluster_id != vm.cluster]
    clusters.sort(
        key=lambda c: (c.cloud_provider != vm.cloud_provider, c.region != vm.region, -c.link_speed_mbps)
    )
    migration = client.start_migration(
        {
            "source_vm_id": vm.vm_id,
            "target_cluster": clusters[0].cluster_id,
            "migration_type": "live",
            "options": {"verify_after_migration": True},
        }
    )
    return migration.migration_id


def test_a_sandbox_migration_reaches_an_sse_client_in_order_to_completion(live_stack, sandbox_server):
    portal, worker = live_stack
    cookie = signed_in_session(portal, partner_id="partner-acme", email="live-it@acme.example")
    stream = open_stream(portal.url, cookie, timeout=DEADLINE_SECONDS)
    messages: queue.Queue[SSEMessage] = queue.Queue()

    def pump() -> None:
        try:
            for message in read_messages(stream):
                messages.put(message)
        except Exception:  # the stream is closed at the end of the test
            return

    threading.Thread(target=pump, daemon=True).start()
    with _acme_client(sandbox_server) as client:
        migration_id = _start_quick_live_migration(client)

    panel_id = f'id="migration-{migration_id}"'
    seen: list[tuple[int, str, float]] = []
    try:
        while not seen or seen[-1][1] not in ("completed", "failed", "cancelled"):
            message = messages.get(timeout=DEADLINE_SECONDS)
            if message.event != "migration" or panel_id not in message.data:
                continue
            status = re.search(r'data-status="([a-z_]+)"', message.data).group(1)  # type: ignore[union-attr]
            progress = float(re.search(r'data-progress="(\d+)"', message.data).group(1))  # type: ignore[union-attr]
            seen.append((message.id, status, progress))
    except queue.Empty:
        pytest.fail(
            f"no completion within {DEADLINE_SECONDS}s; saw {seen}\nworker:\n{worker.log_tail()}\n"
            f"portal:\n{portal.process.log_tail()}"
        )
    finally:
        stream.close()

    assert seen[-1][1] == "completed"
    ids = [message_id for message_id, _, _ in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    progress = [value for _, _, value in seen]
    assert progress == sorted(progress), "a panel update moved the migration backwards"
    assert len(seen) >= 3 and progress[-1] == 100
    # The worker processed what the receiver stored, once each.
    report = portal_python(
        portal,
        f"""
from webhooks.models import WebhookEvent
events = WebhookEvent.objects.filter(payload__data__migration_id={migration_id!r})
print(events.count(), events.filter(status="processed").count(), events.filter(attempts__gt=1).count())
""",
    ).split()
    stored, processed, retried = (int(value) for value in report[-3:])
    assert stored >= 3 and processed == stored and retried == 0
