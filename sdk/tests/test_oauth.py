from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from novacron import APIConnectionError, OAuthError
from novacron.oauth import OAuthConfig, OAuthProvider

ISSUER = "http://sandbox.test"
NOW = 1_767_225_600.0


def make_provider(client_secret: str | None = "client-secret") -> OAuthProvider:
    config = OAuthConfig(
        client_id="portal",
        client_secret=client_secret,
        redirect_url="http://portal.test/cb",
        scopes=["openid", "profile", "vm:read"],
        authorization_endpoint=f"{ISSUER}/oauth/authorize/",
        token_endpoint=f"{ISSUER}/oauth/token/",
        revocation_endpoint=f"{ISSUER}/oauth/revoke_token/",
    )
    return OAuthProvider(config, clock=lambda: NOW)


def form_of(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


TOKEN_RESPONSE = {
    "access_token": "at-1",
    "refresh_token": "rt-1",
    "expires_in": 3600,
    "token_type": "Bearer",
    "scope": "openid profile vm:read",
    "id_token": "header.claims.sig",
}


def test_the_authorization_url_carries_state_and_an_s256_challenge() -> None:
    request = make_provider().authorization_url()

    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert request.url.startswith(f"{ISSUER}/oauth/authorize/?")
    assert query["response_type"] == "code"
    assert query["client_id"] == "portal"
    assert query["redirect_uri"] == "http://portal.test/cb"
    assert query["scope"] == "openid profile vm:read"
    assert query["state"] == request.state and len(request.state) >= 32
    assert query["nonce"] == request.nonce
    assert query["code_challenge_method"] == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(request.code_verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == expected.decode()
    assert 43 <= len(request.code_verifier) <= 128


def test_each_authorization_request_is_unique() -> None:
    provider = make_provider()

    first, second = provider.authorization_url(), provider.authorization_url()

    assert first.state != second.state and first.code_verifier != second.code_verifier


def test_asking_for_more_scopes_later_uses_the_given_ones_and_state() -> None:
    request = make_provider().authorization_url(scopes=["vm:write"], state="keep-me")

    query = parse_qs(urlsplit(request.url).query)
    assert query["scope"] == ["vm:write"]
    assert query["state"] == ["keep-me"]
    assert request.nonce is None  # no openid, no nonce


def test_it_exchanges_a_code_for_a_token(api: responses.RequestsMock) -> None:
    api.post(f"{ISSUER}/oauth/token/", json=TOKEN_RESPONSE)

    token = make_provider().exchange_code("the-code", "the-verifier")

    assert form_of(api.calls[0]) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://portal.test/cb",
        "code_verifier": "the-verifier",
    }
    expected_basic = base64.b64encode(b"portal:client-secret").decode()
    assert api.calls[0].request.headers["Authorization"] == f"Basic {expected_basic}"
    assert token.access_token == "at-1" and token.refresh_token == "rt-1"
    assert token.expires_at == datetime.fromtimestamp(NOW + 3600, tz=UTC)
    assert token.scope == ["openid", "profile", "vm:read"]
    assert token.id_token == "header.claims.sig"
    assert token.expires_within(3600, now=datetime.fromtimestamp(NOW + 1, tz=UTC))


def test_a_public_client_sends_its_id_in_the_form(api: responses.RequestsMock) -> None:
    api.post(f"{ISSUER}/oauth/token/", json=TOKEN_RESPONSE)

    make_provider(client_secret=None).exchange_code("c", "v")

    assert form_of(api.calls[0])["client_id"] == "portal"
    assert "Authorization" not in api.calls[0].request.headers


def test_it_refreshes_and_keeps_the_old_refresh_token_when_not_rotated(api: responses.RequestsMock) -> None:
    api.post(f"{ISSUER}/oauth/token/", json={"access_token": "at-2", "expires_in": 60, "scope": "vm:read"})

    token = make_provider().refresh("rt-1")

    assert form_of(api.calls[0]) == {"grant_type": "refresh_token", "refresh_token": "rt-1"}
    assert token.access_token == "at-2" and token.refresh_token == "rt-1"


def test_a_reused_refresh_token_is_an_oauth_error(api: responses.RequestsMock) -> None:
    api.post(
        f"{ISSUER}/oauth/token/",
        status=400,
        json={"error": "invalid_grant", "error_description": "refresh token revoked"},
    )

    with pytest.raises(OAuthError) as caught:
        make_provider().refresh("rt-old")

    assert caught.value.code == "invalid_grant"
    assert caught.value.message == "refresh token revoked"


def test_it_revokes_a_token(api: responses.RequestsMock) -> None:
    api.post(f"{ISSUER}/oauth/revoke_token/", status=200, body="")

    make_provider().revoke("rt-1")

    assert form_of(api.calls[0]) == {"token": "rt-1", "token_type_hint": "refresh_token"}


def test_revoke_needs_a_revocation_endpoint() -> None:
    provider = make_provider()
    provider.config.revocation_endpoint = None

    with pytest.raises(ValueError, match="revocation"):
        provider.revoke("rt-1")


def test_the_config_comes_from_oidc_discovery(api: responses.RequestsMock) -> None:
    api.get(
        f"{ISSUER}/.well-known/openid-configuration",
        json={
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/o/authorize/",
            "token_endpoint": f"{ISSUER}/o/token/",
            "revocation_endpoint": f"{ISSUER}/o/revoke/",
            "userinfo_endpoint": f"{ISSUER}/o/userinfo/",
        },
    )

    config = OAuthConfig.from_issuer(ISSUER + "/", "portal", "secret", "http://portal.test/cb", ["openid"])

    assert config.token_endpoint == f"{ISSUER}/o/token/"
    assert config.revocation_endpoint == f"{ISSUER}/o/revoke/"
    assert config.scopes == ["openid"]


def test_an_unreachable_issuer_is_a_connection_error(api: responses.RequestsMock) -> None:
    api.get(f"{ISSUER}/.well-known/openid-configuration", body=requests.ConnectionError("refused"))

    with pytest.raises(APIConnectionError):
        OAuthConfig.from_issuer(ISSUER, "portal", "secret", "http://portal.test/cb")
