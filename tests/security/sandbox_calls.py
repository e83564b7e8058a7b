"""Signed calls to a running sandbox over loopback, with the headers a test chooses."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from novacron.signing import partner_headers


def signed_call(
    base_url: str,
    credential: dict[str, str],
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    session: requests.Session | None = None,
) -> requests.Response:
    """`path` as it goes on the wire (percent-encoded); the SDK's signing decides the signed form."""
    auth = partner_headers(
        method=method,
        path=urlsplit(path).path,
        timestamp=int(time.time()),
        partner_id=credential["partner_id"],
        api_key=credential["api_key"],
        api_secret=credential["api_secret"],
    )
    payload = None if body is None else json.dumps(body).encode()
    sender = session or requests
    return sender.request(
        method,
        base_url + path,
        data=payload,
        headers={**auth, "Content-Type": "application/json", **(headers or {})},
        timeout=30,
    )
