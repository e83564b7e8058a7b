"""The OAuth helper and bearer mode against the sandbox's authorization server.

A plain `requests.Session` plays the browser: it follows the authorize redirect to the login page,
signs in, allows the consent form, and stops at the redirect back to the (never contacted) app.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from novacron import Client, InsufficientScopeError, OAuthError, UnauthorizedError
from novacron.oauth import OAuthConfig, OAuthProvider, Token
from sandbox_process import Sandbox

pytestmark = pytest.mark.integration

REDIRECT_URL = "http://127.0.0.1:9/oauth/callback"
ALL_SCOPES = ["openid", "profile", "email", "vm:read", "vm:write", "migration:execute", "partner:admin"]


class FormFields(HTMLParser):
    """The named inputs of the first POST form on a page (the login and consent pages have one)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form" and self.action is None and (named.get("method") or "").lower() == "post":
            self._in_form, self.action = True, named.get("action") or ""
        elif tag == "input" and self._in_form and named.get("name"):
            self.fields[named["name"] or ""] = named.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def submit(browser: requests.Session, page: requests.Response, extra: dict[str, str]) -> requests.Response:
    form = FormFields()
    form.feed(page.text)
    assert form.action is not None, f"no form on {page.url}"
    target = urljoin(page.url, form.action) if form.action else page.url
    return browser.post(
        target,
        data={**form.fields, **extra},
        allow_redirects=False,
        timeout=10,
        headers={"Referer": page.url},
    )


def authorize(url: str, email: str) -> str:
    """Drive the sign-in and consent pages; return the authorization code sent to the app."""
    browser = requests.Session()
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(REDIRECT_URL):
                query = parse_qs(urlsplit(location).query)
                assert "code" in query, f"authorization refused: {query}"
                return query["code"][0]
            response = browser.get(location, allow_redirects=False, timeout=10)
        elif "password" in response.text and "/accounts/login/" in response.url:
            response = submit(browser, response, {"username": email, "password": "novacron"})
        else:
            response = submit(browser, response, {"allow": "1"})
    pytest.fail("the authorization flow did not come back to the app")


@pytest.fixture(scope="module")
def provider(sandbox: Sandbox) -> OAuthProvider:
    registered = json.loads(
        sandbox.run(
            "register-client", "--redirect-uri", REDIRECT_URL, "--name", "SDK contract tests", "--json"
        )
    )
    config = OAuthConfig.from_issuer(
        registered["issuer"], registered["client_id"], registered["client_secret"], REDIRECT_URL, ALL_SCOPES
    )
    return OAuthProvider(config)


@pytest.fixture(scope="module")
def admin_token(provider: OAuthProvider) -> Token:
    request = provider.authorization_url()
    return provider.exchange_code(authorize(request.url, "admin@acme.example"), request.code_verifier)


@pytest.fixture
def as_admin(sandbox: Sandbox, admin_token: Token) -> Iterator[Client]:
    with Client.with_token(sandbox.base_url, admin_token.access_token, partner_id="partner-acme") as client:
        yield client


def test_discovery_finds_every_endpoint(provider: OAuthProvider, sandbox: Sandbox) -> None:
    assert provider.config.authorization_endpoint.startswith(sandbox.base_url)
    assert provider.config.token_endpoint.startswith(sandbox.base_url)
    assert provider.config.revocation_endpoint


def test_the_code_exchange_returns_a_token_with_the_granted_scopes(admin_token: Token) -> None:
    assert admin_token.access_token and admin_token.refresh_token and admin_token.id_token
    assert {"vm:read", "vm:write", "migration:execute", "partner:admin"} <= set(admin_token.scope)
    assert admin_token.expires_at is not None and not admin_token.expires_within(0)


def test_a_bearer_client_acts_as_the_user(as_admin: Client) -> None:
    assert as_admin.get_partner().partner_id == "partner-acme"
    assert as_admin.list_vms(limit=5).data
    assert isinstance(as_admin.list_webhooks().data, list)


def test_an_expired_token_is_replaced_through_the_token_provider(
    sandbox: Sandbox, admin_token: Token
) -> None:
    renewals: list[str] = []

    def fresh_token() -> str:
        renewals.append("renewed")
        return admin_token.access_token

    with Client.with_token(
        sandbox.base_url, "expired-or-revoked-token", token_provider=fresh_token, partner_id="partner-acme"
    ) as client:
        partner = client.get_partner()

    assert partner.partner_id == "partner-acme"
    assert renewals == ["renewed"]


def test_a_token_without_the_scope_gets_insufficient_scope(sandbox: Sandbox, provider: OAuthProvider) -> None:
    request = provider.authorization_url(scopes=["openid", "vm:read"])
    token = provider.exchange_code(authorize(request.url, "admin@acme.example"), request.code_verifier)

    with Client.with_token(sandbox.base_url, token.access_token, partner_id="partner-acme") as client:
        assert client.list_clusters()
        with pytest.raises(InsufficientScopeError) as caught:
            client.create_vm(
                {
                    "name": "never",
                    "template": "debian-12",
                    "cpu_cores": 1,
                    "memory_gb": 1,
                    "disk_size_gb": 10,
                    "network_id": "n",
                    "cloud_provider": "aws",
                    "region": "us-east-1",
                    "tags": {},
                }
            )

    assert caught.value.scope == "vm:write"


def test_refresh_rotates_and_revoke_ends_the_session(sandbox: Sandbox, provider: OAuthProvider) -> None:
    request = provider.authorization_url()
    first = provider.exchange_code(authorize(request.url, "operator@acme.example"), request.code_verifier)

    second = provider.refresh(first.refresh_token or "")
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token

    provider.revoke(second.refresh_token or "")
    with pytest.raises(OAuthError):
        provider.refresh(second.refresh_token or "")
    provider.revoke(second.access_token, token_type_hint="access_token")
    with (
        Client.with_token(sandbox.base_url, second.access_token, partner_id="partner-acme") as client,
        pytest.raises(UnauthorizedError),
    ):
        client.get_partner()
