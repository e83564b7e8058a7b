"""Fixtures and a small driver for the OAuth 2.0 / OIDC flow of the sandbox, through Django's test client.

The driver does what a relying party (the portal) and a browser do: it sends the authorization
request with PKCE, posts the consent form exactly as the page rendered it, and spends the code at
the token endpoint with client_secret_basic.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from sandbox.core.models import Partner
from sandbox.identity.models import User
from sandbox.identity.seed import seed_users
from sandbox.identity.services import client_register

REDIRECT_URI = "http://portal.test/accounts/callback/"
PORTAL_SCOPES = "openid profile email vm:read"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic_auth(client_id: str, client_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class Authorization:
    """One authorization request in flight: its parameters and the PKCE verifier to spend the code."""

    params: dict[str, str]
    verifier: str
    response: Any = None

    @property
    def url(self) -> str:
        return "/oauth/authorize/?" + urlencode(self.params)


@dataclass
class RelyingParty:
    client_id: str
    client_secret: str
    browser: Client
    api: Client = field(default_factory=Client)

    def authorization(self, scope: str = PORTAL_SCOPES, **extra: str) -> Authorization:
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return Authorization(params={k: v for k, v in params.items() if v is not None}, verifier=verifier)

    def open(self, authorization: Authorization) -> Any:
        authorization.response = self.browser.get(authorization.url)
        return authorization.response

    def answer_consent(self, authorization: Authorization, *, allow: bool, **tampered: str) -> Any:
        """Posts the consent form as rendered (hidden fields included), pressing Allow or Deny."""
        form = authorization.response.context["form"]
        data = {name: value for name, value in form.initial.items() if value is not None}
        data.update(tampered)
        data["allow" if allow else "deny"] = "1"
        return self.browser.post("/oauth/authorize/", data)

    def exchange(self, code: str, verifier: str | None, **extra: str) -> Any:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **extra}
        if verifier is not None:
            data["code_verifier"] = verifier
        return self.api.post(
            "/oauth/token/", data, HTTP_AUTHORIZATION=basic_auth(self.client_id, self.client_secret)
        )

    def refresh(self, refresh_token: str) -> Any:
        return self.api.post(
            "/oauth/token/",
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            HTTP_AUTHORIZATION=basic_auth(self.client_id, self.client_secret),
        )

    def revoke(self, token: str, hint: str = "refresh_token") -> Any:
        return self.api.post(
            "/oauth/revoke_token/",
            {"token": token, "token_type_hint": hint},
            HTTP_AUTHORIZATION=basic_auth(self.client_id, self.client_secret),
        )

    def introspect(self, token: str) -> Any:
        return self.api.post(
            "/oauth/introspect/",
            {"token": token},
            HTTP_AUTHORIZATION=basic_auth(self.client_id, self.client_secret),
        )

    def sign_in(self, scope: str = PORTAL_SCOPES, **extra: str) -> dict[str, Any]:
        """The whole flow for the browser's signed-in user, allowing whatever the screen asks."""
        authorization = self.authorization(scope, **extra)
        response = self.open(authorization)
        if response.status_code == 200:
            response = self.answer_consent(authorization, allow=True)
        assert response.status_code == 302, response
        callback = query_of(response["Location"])
        assert "code" in callback, callback
        token_response = self.exchange(callback["code"], authorization.verifier)
        assert token_response.status_code == 200, token_response.content
        return token_response.json()


@pytest.fixture
def fast_hashing(settings: Any) -> None:
    """Client secrets and passwords are hashed on every token call; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def oauth_partners(db: None) -> list[Partner]:
    # get_or_create: cooperates with the API tests' `acme` / `globex` fixtures when requested after them.
    return [
        Partner.objects.get_or_create(
            partner_id="partner-acme", defaults={"name": "Acme Corp", "type": "technology", "tier": "gold"}
        )[0],
        Partner.objects.get_or_create(
            partner_id="partner-globex", defaults={"name": "Globex", "type": "reseller", "tier": "silver"}
        )[0],
    ]


@pytest.fixture
def demo_users(oauth_partners: list[Partner], fast_hashing: None) -> dict[str, User]:
    rows = seed_users(oauth_partners)
    return {row["email"]: User.objects.get(email=row["email"]) for row in rows}


@pytest.fixture
def portal_client(db: None, fast_hashing: None) -> tuple[str, str]:
    application, secret = client_register(name="NovaCron Partner Portal", redirect_uris=[REDIRECT_URI])
    return application.client_id, secret


def relying_party_for(user: User | None, portal_client: tuple[str, str]) -> RelyingParty:
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return RelyingParty(client_id=portal_client[0], client_secret=portal_client[1], browser=browser)


@pytest.fixture
def acme_admin(demo_users: dict[str, User], portal_client: tuple[str, str]) -> RelyingParty:
    return relying_party_for(demo_users["admin@acme.example"], portal_client)


@pytest.fixture
def acme_viewer(demo_users: dict[str, User], portal_client: tuple[str, str]) -> RelyingParty:
    return relying_party_for(demo_users["viewer@acme.example"], portal_client)


@pytest.fixture
def globex_operator(demo_users: dict[str, User], portal_client: tuple[str, str]) -> RelyingParty:
    return relying_party_for(demo_users["operator@globex.example"], portal_client)


@pytest.fixture
def anonymous(demo_users: dict[str, User], portal_client: tuple[str, str]) -> RelyingParty:
    return relying_party_for(None, portal_client)


@pytest.fixture
def oauth_tokens_for(portal_client: tuple[str, str]) -> Callable[..., dict[str, Any]]:
    """Runs the whole flow for a user (of any partner fixture); returns the token response.

    `oauth_tokens_for(user, "openid vm:read vm:write")["access_token"]` is a real bearer token.
    """

    def tokens_for(user: User, scope: str = PORTAL_SCOPES) -> dict[str, Any]:
        return relying_party_for(user, portal_client).sign_in(scope)

    return tokens_for
