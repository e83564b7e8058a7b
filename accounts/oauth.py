"""NovaCron as an OpenID Connect provider, through Authlib's Django client.

The registration is built on first use, not at import: `manage.py check` and tests run with no
NovaCron around, and discovery metadata is fetched only when a sign-in actually starts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import requests
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.urls import reverse
from novacron.errors import APIConnectionError
from novacron.oauth import OAuthConfig, OAuthProvider

PROVIDER_NAME = "novacron"


@lru_cache(maxsize=4)
def _app(issuer: str, client_id: str, client_secret: str, timeout: float) -> Any:
    registry = OAuth()
    registry.register(
        name=PROVIDER_NAME,
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": " ".join(settings.NOVACRON_LOGIN_SCOPES),
            "code_challenge_method": "S256",
            "default_timeout": timeout,
        },
    )
    return registry.create_client(PROVIDER_NAME)


def novacron_app() -> Any:
    """The Authlib client for NovaCron (a `DjangoOAuth2App`), one per configuration."""
    return _app(
        settings.NOVACRON_OAUTH_ISSUER,
        settings.NOVACRON_CLIENT_ID,
        settings.NOVACRON_CLIENT_SECRET,
        settings.NOVACRON_TIMEOUT,
    )


def redirect_uri() -> str:
    """The callback registered with NovaCron: built from SITE_URL so it matches the registration exactly."""
    return settings.SITE_URL.rstrip("/") + reverse("accounts:callback")


def server_metadata() -> dict[str, Any]:
    """The issuer's discovery document (fetched once, then cached by Authlib)."""
    try:
        metadata: dict[str, Any] = novacron_app().load_server_metadata()  # Authlib ships no types
        return metadata
    except (requests.RequestException, ValueError) as error:
        raise APIConnectionError(f"NovaCron's sign-in service did not answer: {error}") from error


def token_provider() -> OAuthProvider:
    """The SDK's OAuth helper, on the discovered endpoints, for refresh and revocation."""
    metadata = server_metadata()
    config = OAuthConfig(
        client_id=settings.NOVACRON_CLIENT_ID,
        client_secret=settings.NOVACRON_CLIENT_SECRET or None,
        redirect_url=redirect_uri(),
        scopes=list(settings.NOVACRON_LOGIN_SCOPES),
        authorization_endpoint=metadata.get("authorization_endpoint", ""),
        token_endpoint=metadata["token_endpoint"],
        revocation_endpoint=metadata.get("revocation_endpoint"),
        issuer=metadata.get("issuer"),
    )
    return OAuthProvider(config, timeout=settings.NOVACRON_TIMEOUT)


def reset() -> None:
    """Forget registrations and their cached metadata (tests that change the issuer)."""
    _app.cache_clear()
