"""HMAC request signing exactly as the contract states (``METHOD:PATH:TIMESTAMP``)."""

from __future__ import annotations

import hashlib
import hmac


def sign_request(method: str, path: str, timestamp: int | str, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``"{METHOD}:{PATH}:{TIMESTAMP}"`` keyed with the API secret.

    ``path`` is the full URL path without the query string, base path included
    (``/api/v1/vms``).
    """
    message = f"{method.upper()}:{path}:{int(timestamp)}"
    return hmac.digest(secret.encode(), message.encode(), hashlib.sha256).hex()


def partner_headers(
    *, method: str, path: str, timestamp: int, partner_id: str, api_key: str, api_secret: str
) -> dict[str, str]:
    """The four authentication headers for one request attempt."""
    return {
        "X-Partner-ID": partner_id,
        "X-API-Key": api_key,
        "X-Timestamp": str(int(timestamp)),
        "X-Signature": sign_request(method, path, timestamp, api_secret),
    }
