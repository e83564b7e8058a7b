"""The flow over real HTTP with Authlib, the OAuth client library the portal uses.

Runs against pytest-django's live server (a real socket on a free port), with a requests
session playing the browser: sign in, consent, then Authlib spends the code, verifies the ID
token against the published keys, refreshes and revokes.
"""

from __future__ import annotations

import json
import secrets
from html.parser import HTMLParser

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from jwcrypto import jwk, jwt

from sandbox.core.models import Partner
from sandbox.identity.seed import seed_users
from sandbox.identity.services import client_register

pytestmark = pytest.mark.integration

CALLBACK = "http://127.0.0.1:1/callback"  # never fetched: the browser stops at the redirect


class FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") in {"hidden", None} and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""


def form_fields(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.fields


def browser_signs_in_and_allows(browser: requests.Session, authorization_url: str, email: str) -> str:
    """Follows the authorization URL as a person would; returns the callback URL the sandbox redirects to."""
    login_page = browser.get(authorization_url)
    assert "/accounts/login/" in login_page.url
    signed_in = browser.post(
        login_page.url,
        data={**form_fields(login_page.text), "username": email, "password": "novacron"},
        headers={"Referer": login_page.url},
    )
    assert "wants to access your NovaCron account" in signed_in.text
    consent = browser.post(
        signed_in.url,
        data={**form_fields(signed_in.text), "allow": "1"},
        headers={"Referer": signed_in.url},
        allow_redirects=False,
    )
    assert consent.status_code == 302
    return consent.headers["Location"]


@pytest.fixture
def sandbox_with_portal_client(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    partner = Partner.objects.create(
        partner_id="partner-acme", name="Acme Corp", type="technology", tier="gold"
    )
    seed_users([partner])
    application, secret = client_register(name="NovaCron Partner Portal", redirect_uris=[CALLBACK])
    return live_server.url, application.client_id, secret


def test_authlib_completes_the_flow_and_verifies_the_id_token(sandbox_with_portal_client):
    base_url, client_id, client_secret = sandbox_with_portal_client
    metadata = requests.get(f"{base_url}/.well-known/openid-configuration", timeout=5).json()
    assert metadata["issuer"] == f"{base_url}/oauth"

    portal = OAuth2Session(
        client_id,
        client_secret,
        scope="openid profile email vm:read",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
    )
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(12)
    url, state = portal.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    callback = browser_signs_in_and_allows(requests.Session(), url, "operator@acme.example")

    tokens = portal.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
    )
    keys = jwk.JWKSet.from_json(requests.get(metadata["jwks_uri"], timeout=5).text)
    id_token = jwt.JWT(
        jwt=tokens["id_token"],
        key=keys,
        algs=["RS256"],
        check_claims={"iss": metadata["issuer"], "aud": client_id, "exp": None},
    )
    claims = json.loads(id_token.claims)
    assert claims["nonce"] == nonce
    assert (claims["email"], claims["partner_id"], claims["partner_role"]) == (
        "operator@acme.example",
        "partner-acme",
        "operator",
    )

    userinfo = portal.get(metadata["userinfo_endpoint"], timeout=5).json()
    assert userinfo["name"] == "Oscar Operator"

    refreshed = portal.refresh_token(metadata["token_endpoint"], refresh_token=tokens["refresh_token"])
    assert refreshed["refresh_token"] != tokens["refresh_token"]

    revoked = portal.revoke_token(
        metadata["revocation_endpoint"], refreshed["refresh_token"], "refresh_token"
    )
    assert revoked.status_code == 200
    spent = requests.post(
        metadata["token_endpoint"],
        auth=(client_id, client_secret),
        data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        timeout=5,
    )
    assert spent.json()["error"] == "invalid_grant"
