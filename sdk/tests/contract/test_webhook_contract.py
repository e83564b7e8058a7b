from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from novacron import Client, SignatureVerificationError, ValidationError
from novacron.webhooks import construct_event
from sandbox_process import Sandbox

pytestmark = pytest.mark.integration

SECRET = "contract-webhook-secret-0001"


class Receiver:
    """A local partner endpoint: records each delivery's headers and raw body."""

    def __init__(self, port: int) -> None:
        self.deliveries: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        received = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.put((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/novacron"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_delivery(self, seconds: float = 30.0) -> tuple[dict[str, str], bytes]:
        return self.deliveries.get(timeout=seconds)


@pytest.fixture
def receiver(sandbox: Sandbox) -> Iterator[Receiver]:
    endpoint = Receiver(sandbox.receiver_port)
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def test_a_test_event_reaches_the_partner_signed_and_is_logged(acme: Client, receiver: Receiver) -> None:
    subscription = acme.subscribe_webhook(["vm.created", "migration.completed"], receiver.url, SECRET)
    try:
        assert subscription.subscription_id in {s.subscription_id for s in acme.list_webhooks(limit=500)}

        queued = acme.send_test_event(subscription.subscription_id)
        headers, body = receiver.next_delivery()
        event = construct_event(body, headers, SECRET)

        assert event.event_type == "vm.created"
        assert event.data.get("test") is True
        assert event.event_id == queued.event_id == headers["X-Webhook-ID"]
        with pytest.raises(SignatureVerificationError):
            construct_event(body, headers, "some-other-secret-000")

        deadline = time.monotonic() + 30
        while True:
            deliveries = acme.list_deliveries(subscription.subscription_id).data
            logged = next(d for d in deliveries if d.delivery_id == queued.delivery_id)
            if logged.status == "succeeded" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert logged.status == "succeeded"
        assert logged.attempts and logged.attempts[0].response_status == 200

        again = acme.redeliver(subscription.subscription_id, queued.delivery_id)
        assert again.event_id == queued.event_id
        _, replayed = receiver.next_delivery()
        assert construct_event(replayed, headers, SECRET).event_id == queued.event_id
    finally:
        acme.delete_webhook(subscription.subscription_id)


def test_a_rotated_secret_signs_the_next_delivery(acme: Client, receiver: Receiver) -> None:
    subscription = acme.subscribe_webhook(["vm.created"], receiver.url, SECRET)
    new_secret = "contract-webhook-secret-0002"
    try:
        acme.update_webhook(subscription.subscription_id, {"secret": new_secret})
        acme.send_test_event(subscription.subscription_id)
        headers, body = receiver.next_delivery()

        assert construct_event(body, headers, [SECRET, new_secret]).event_type == "vm.created"
        with pytest.raises(SignatureVerificationError):
            construct_event(body, headers, SECRET)
    finally:
        acme.delete_webhook(subscription.subscription_id)


def test_a_short_secret_is_refused(acme: Client, receiver: Receiver) -> None:
    with pytest.raises(ValidationError):
        acme.subscribe_webhook(["vm.created"], receiver.url, "short")
