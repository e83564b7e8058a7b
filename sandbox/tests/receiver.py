"""A local webhook receiver on 127.0.0.1 that records requests and answers from a script.

While it runs, this process's sandbox may deliver to it: its `host:port` joins
SANDBOX_WEBHOOK_ALLOWED_HOSTS (a sandbox in another process needs it in its environment).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.conf import settings


class Receiver:
    def __init__(self, statuses: list[int] | None = None, *, port: int = 0) -> None:
        self.statuses = list(statuses or [])
        self.received: list[dict[str, Any]] = []
        self.reply: bytes | None = None  # the body of every answer, instead of "ok"/"boom"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(receiver.reply or (b"ok" if status < 300 else b"boom"))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.host}/hooks"
        self._allowed_before: list[str] = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._allowed_before = list(settings.SANDBOX_WEBHOOK_ALLOWED_HOSTS)
        settings.SANDBOX_WEBHOOK_ALLOWED_HOSTS = [*self._allowed_before, self.host]
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        settings.SANDBOX_WEBHOOK_ALLOWED_HOSTS = self._allowed_before
        self.server.shutdown()
        self.server.server_close()
