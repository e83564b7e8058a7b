"""A NovaCron on 127.0.0.1 that is slow on purpose: a real socket, so timeouts and locks are real.

It serves the OpenID discovery document, a token endpoint that rotates refresh tokens and refuses a
reused one (as NovaCron does), and Partner API paths. `token_delay` / `api_delay` make either side
answer late; a delay longer than the client's timeout is a NovaCron that does not answer.
Requests from other processes count too, so a test can see how many refreshes reached NovaCron.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class LoopbackNovaCron(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, token_delay: float = 0.0, api_delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token_delay, self.api_delay = token_delay, api_delay
        self.lock = threading.Lock()
        self.token_requests: list[str] = []  # the refresh tokens presented, in order
        self.api_requests: list[str] = []
        self.token_request_seen = threading.Event()
        self.spent: set[str] = set()
        self.issued = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.url + "/oauth"

    def discovery(self) -> dict[str, str]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize/",
            "token_endpoint": self.issuer + "/token/",
            "revocation_endpoint": self.issuer + "/revoke_token/",
            "jwks_uri": self.issuer + "/.well-known/jwks.json",
        }

    def refresh(self, refresh_token: str) -> tuple[int, dict[str, object]]:
        with self.lock:
            if refresh_token in self.spent:
                return 400, {"error": "invalid_grant", "error_description": "refresh token reused"}
            self.spent.add(refresh_token)
            self.issued += 1
            n = self.issued
        return 200, {
            "access_token": f"new-access-{n}",
            "refresh_token": f"new-refresh-{n}",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid vm:read",
        }


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackNovaCron

    def do_GET(self) -> None:
        if self.path.startswith("/oauth/.well-known/openid-configuration"):
            self._answer(200, self.server.discovery())
            return
        self._api_call()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if not self.path.startswith("/oauth/token"):
            self._api_call()
            return
        refresh_token = form.get("refresh_token", "")
        with self.server.lock:
            self.server.token_requests.append(refresh_token)
        self.server.token_request_seen.set()
        time.sleep(self.server.token_delay)
        self._answer(*self.server.refresh(refresh_token))

    def _api_call(self) -> None:
        with self.server.lock:
            self.server.api_requests.append(f"{self.command} {self.path.split('?')[0]}")
        time.sleep(self.server.api_delay)
        self._answer(404, {"error": {"code": "not_found", "message": "no such thing"}})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client stopped waiting

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def running(**delays: float) -> Iterator[LoopbackNovaCron]:
    server = LoopbackNovaCron(**delays)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
