"""Verifying and parsing the webhooks NovaCron sends (``X-Webhook-Signature`` over the raw body)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence

from .errors import SignatureVerificationError
from .models import WebhookEvent

SIGNATURE_HEADER = "X-Webhook-Signature"
EVENT_HEADER = "X-Webhook-Event"
ID_HEADER = "X-Webhook-ID"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"


def sign_payload(payload: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, as the platform computes it."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify_signature(payload: bytes, signature: str, secret: str) -> bool:
    """True when ``signature`` is the payload's HMAC under ``secret``; compared in constant time."""
    if not signature or not secret:
        return False
    expected = sign_payload(payload, secret)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    # Frameworks spell headers differently (Django's META: HTTP_X_WEBHOOK_SIGNATURE).
    meta = "http_" + wanted.replace("-", "_")
    for key, value in headers.items():
        if key.lower() in (wanted, meta):
            return value
    return None


def construct_event(
    payload: bytes | str, headers: Mapping[str, str], secret: str | Sequence[str]
) -> WebhookEvent:
    """Verify the raw body against the signature header, then parse it into a ``WebhookEvent``.

    ``secret`` may be several secrets: during a rotation, the old and the new one both verify.
    Raises ``SignatureVerificationError`` on a missing or wrong signature or a body that is not
    a JSON object; nothing is parsed before the signature matches.
    """
    raw = payload.encode() if isinstance(payload, str) else bytes(payload)
    secrets = [secret] if isinstance(secret, str) else list(secret)
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header", code="missing_signature")
    if not any(verify_signature(raw, signature, s) for s in secrets):
        raise SignatureVerificationError("webhook signature does not match", code="bad_signature")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise SignatureVerificationError("webhook body is not JSON", code="bad_payload") from exc
    if not isinstance(body, dict):
        raise SignatureVerificationError("webhook body is not a JSON object", code="bad_payload")
    return WebhookEvent.from_dict(body)
