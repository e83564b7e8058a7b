"""HMAC request signing exactly as the contract states (``METHOD:PATH:TIMESTAMP``)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import unquote


def sign_request(method: str, path: str, timestamp: int | str, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``"{METHOD}:{PATH}:{TIMESTAMP}"`` keyed with the API secret.

    ``path`` is the full URL path without the query string, base path included
    (``/api/v1/vms``), in its decoded form (see ``signed_path``).
    """
    message = f"{method.upper()}:{path}:{int(timestamp)}"
    return hmac.digest(secret.encode(), message.encode(), hashlib.sha256).hex()


def signed_path(url_path: str) -> str:
    """The form of a path that is signed: percent-decoded as UTF-8, which is what the server sees.

    The wire carries ``/api/v1/vms/vm%20odd``; the server routes and verifies ``/api/v1/vms/vm odd``
    (as Go's ``URL.Path`` would hand it to ``generateSignature``). ``%2F`` decodes to ``/`` too.
    """
    return unquote(url_path, encoding="utf-8", errors="strict")


def partner_headers(
    *, method: str, path: str, timestamp: int, partner_id: str, api_key: str, api_secret: str
) -> dict[str, str]:
    """The four authentication headers for one request attempt; ``path`` as sent on the wire."""
    return {
        "X-Partner-ID": partner_id,
        "X-API-Key": api_key,
        "X-Timestamp": str(int(timestamp)),
        "X-Signature": sign_request(method, signed_path(path), timestamp, api_secret),
    }
