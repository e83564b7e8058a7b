"""Authorization codes are single use: a replay revokes every token the code gave (RFC 6749 §4.1.2)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import transaction
from oauth2_provider.models import AbstractApplication, get_access_token_model, get_refresh_token_model

from sandbox.identity.models import SpentAuthorizationCode

log = logging.getLogger("sandbox.identity")


def _checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def code_spent(*, code: str, application: AbstractApplication, token: dict[str, Any]) -> None:
    """Remember what exchanging `code` issued (`token` is the token response just saved)."""
    refresh = token.get("refresh_token")
    family = None
    if refresh:
        family = (
            get_refresh_token_model()
            .objects.filter(token_checksum=_checksum(refresh), application=application)
            .values_list("token_family", flat=True)
            .first()
        )
    SpentAuthorizationCode.objects.create(
        code_checksum=_checksum(code),
        application=application,
        token_family=family,
        access_token_checksum=_checksum(token["access_token"]),
    )


def code_replayed(
    *, code: str, application: AbstractApplication, token: dict[str, Any] | None = None
) -> None:
    """Revoke every token issued from `code` (and `token`, issued by a losing concurrent exchange)."""
    spent = SpentAuthorizationCode.objects.filter(
        code_checksum=_checksum(code), application=application
    ).first()
    if spent is None and token is None:
        return
    log.warning("authorization code replayed for client %s: revoking its tokens", application.client_id)
    access_checksums = [
        c for c in (spent and spent.access_token_checksum, token and _checksum(token["access_token"])) if c
    ]
    families = [spent.token_family] if spent is not None and spent.token_family else []
    if token and token.get("refresh_token"):
        families += (
            get_refresh_token_model()
            .objects.filter(token_checksum=_checksum(token["refresh_token"]), token_family__isnull=False)
            .values_list("token_family", flat=True)
        )
    with transaction.atomic():
        for family in families:
            get_refresh_token_model().revoke_family(family)
        get_access_token_model().objects.filter(
            token_checksum__in=access_checksums, application=application
        ).delete()
