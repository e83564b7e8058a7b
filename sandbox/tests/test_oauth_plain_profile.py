"""SANDBOX_OIDC_PROFILE=plain: the sandbox as a standard OpenID provider, which a relying party
must handle without NovaCron's conveniences (sandbox.identity.profile)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwcrypto import jwk, jwt
from oauth2_provider.models import RefreshToken

from sandbox.tests.oauth_fixtures import RelyingParty, query_of

pytestmark = pytest.mark.django_db

SIGN_IN = "openid profile email vm:read"


@pytest.fixture
def plain(settings: Any) -> None:
    settings.SANDBOX_OIDC_PROFILE = "plain"


def _id_token_claims(rp: RelyingParty, id_token: str) -> dict[str, Any]:
    keys = jwk.JWKSet.from_json(rp.api.get("/oauth/.well-known/jwks.json").content)
    return dict(json.loads(jwt.JWT(jwt=id_token, key=keys, algs=["RS256"]).claims))


def _code_exchange(rp: RelyingParty, scope: str, **extra: str) -> Any:
    authorization = rp.authorization(scope, **extra)
    response = rp.open(authorization)
    if response.status_code == 200:
        response = rp.answer_consent(authorization, allow=True)
    return rp.exchange(query_of(response["Location"])["code"], authorization.verifier)


def test_only_the_plain_profile_lists_offline_access(client, settings):
    assert (
        "offline_access"
        not in client.get("/oauth/.well-known/openid-configuration").json()["scopes_supported"]
    )
    settings.SANDBOX_OIDC_PROFILE = "plain"
    assert (
        "offline_access" in client.get("/oauth/.well-known/openid-configuration").json()["scopes_supported"]
    )


def test_novacron_refuses_offline_access_as_an_unknown_scope(acme_admin):
    response = acme_admin.open(acme_admin.authorization(SIGN_IN + " offline_access", prompt="consent"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_scope"


def test_the_plain_id_token_names_nobody_but_sub_and_userinfo_has_the_rest(plain, acme_admin):
    tokens = _code_exchange(acme_admin, SIGN_IN).json()

    claims = _id_token_claims(acme_admin, tokens["id_token"])
    assert claims["sub"] and claims["aud"] == acme_admin.client_id and claims["nonce"]
    assert not {"email", "name", "partner_id", "partner_role", "email_verified"} & set(claims)
    userinfo = acme_admin.api.get(
        "/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    ).json()
    assert userinfo["sub"] == claims["sub"]
    assert (userinfo["partner_id"], userinfo["partner_role"]) == ("partner-acme", "admin")
    assert userinfo["email"] == "admin@acme.example" and userinfo["name"] == "Alice Admin"


def test_the_novacron_id_token_still_carries_the_partner_claims(acme_admin):
    claims = _id_token_claims(acme_admin, _code_exchange(acme_admin, SIGN_IN).json()["id_token"])
    assert (claims["partner_id"], claims["partner_role"], claims["email"]) == (
        "partner-acme",
        "admin",
        "admin@acme.example",
    )


def test_plain_gives_no_refresh_token_without_offline_access(plain, acme_admin):
    tokens = _code_exchange(acme_admin, SIGN_IN).json()
    assert tokens["access_token"] and "refresh_token" not in tokens
    assert not RefreshToken.objects.exists()


def test_plain_ignores_offline_access_without_prompt_consent(plain, acme_admin):
    tokens = _code_exchange(acme_admin, SIGN_IN + " offline_access").json()
    assert "offline_access" not in tokens["scope"].split()
    assert "refresh_token" not in tokens


def test_plain_gives_a_refresh_token_for_offline_access_with_prompt_consent_and_it_rotates(plain, acme_admin):
    authorization = acme_admin.authorization(SIGN_IN + " offline_access", prompt="consent")
    screen = acme_admin.open(authorization)
    assert "offline_access" in [scope for scope, _ in screen.context["new_scopes"]]
    callback = query_of(acme_admin.answer_consent(authorization, allow=True)["Location"])
    tokens = acme_admin.exchange(callback["code"], authorization.verifier).json()
    assert "offline_access" in tokens["scope"].split() and tokens["refresh_token"]

    refreshed = acme_admin.refresh(tokens["refresh_token"]).json()
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] not in ("", tokens["refresh_token"])

    assert acme_admin.revoke(refreshed["refresh_token"]).status_code == 200
    assert acme_admin.refresh(refreshed["refresh_token"]).status_code == 400
