"""NovaCron as an OpenID Connect provider, through Authlib's Django client.

The registration is built on first use, not at import: `manage.py check` and tests run with no
NovaCron around, and discovery metadata is fetched only when a sign-in actually starts.

Nothing here relies on NovaCron's own conveniences, so any standard OpenID provider will do: the
partner and role claims may come from userinfo instead of the ID token and have configurable names,
and a refresh token is asked for with `offline_access` when the issuer offers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import requests
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.urls import reverse
from novacron.errors import APIConnectionError
from novacron.oauth import OAuthConfig, OAuthProvider

PROVIDER_NAME = "novacron"
OFFLINE_ACCESS = "offline_access"


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


def authorization_request(requested: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The scopes to ask for and any extra authorize parameters.

    When the issuer's discovery lists `offline_access`, it is asked for too: a standard provider
    issues a refresh token only for it. With it goes `prompt=consent`, since OpenID Connect Core
    §11 lets a provider ignore `offline_access` otherwise (OIDC_OFFLINE_ACCESS_PROMPT_CONSENT).
    """
    scopes = list(dict.fromkeys(requested))
    parameters: dict[str, str] = {}
    if OFFLINE_ACCESS in (server_metadata().get("scopes_supported") or ()):
        if OFFLINE_ACCESS not in scopes:
            scopes.append(OFFLINE_ACCESS)
        if settings.OIDC_OFFLINE_ACCESS_PROMPT_CONSENT:
            parameters["prompt"] = "consent"
    return scopes, parameters


def identity_claims(token: Mapping[str, Any]) -> dict[str, Any]:
    """Who signed in, with the partner and role under the portal's names `partner_id` and `partner_role`.

    Authlib fills `token["userinfo"]` from the ID token alone. A standard provider may release the
    partner claims, and `email`, only at its userinfo endpoint: when the ID token lacks any of them,
    the userinfo answer fills them in (the ID token's own values stay).
    """
    claims = dict(token.get("userinfo") or {})
    wanted = (settings.OIDC_PARTNER_CLAIM, settings.OIDC_ROLE_CLAIM, "email")
    if not claims or not all(claims.get(name) for name in wanted):
        claims = _with_userinfo(claims, token)
    return {
        **claims,
        "partner_id": claims.get(settings.OIDC_PARTNER_CLAIM),
        "partner_role": claims.get(settings.OIDC_ROLE_CLAIM),
    }


def _with_userinfo(id_token_claims: dict[str, Any], token: Mapping[str, Any]) -> dict[str, Any]:
    if not server_metadata().get("userinfo_endpoint"):
        if id_token_claims:
            return id_token_claims
        raise ValueError("the issuer sent no ID token and has no userinfo endpoint")
    userinfo = dict(novacron_app().userinfo(token=token))
    # OpenID Connect Core §5.3.2: a userinfo answer about another subject must not be used.
    if id_token_claims and str(userinfo.get("sub")) != str(id_token_claims.get("sub")):
        raise ValueError("the userinfo answer is about another subject than the ID token")
    present = {name: value for name, value in id_token_claims.items() if value not in (None, "")}
    return {**userinfo, **present}


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
