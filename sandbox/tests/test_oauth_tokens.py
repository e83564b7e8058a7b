"""Tokens after the flow: refresh rotation, reuse revocation, revocation, introspection, claims."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, RefreshToken
from oauth2_provider.views.mixins import OAuthLibMixin

from sandbox.identity.models import ScopeConsent, User
from sandbox.identity.services import client_register
from sandbox.tests.oauth_fixtures import REDIRECT_URI, RelyingParty, basic_auth, query_of, relying_party_for

pytestmark = pytest.mark.django_db


def test_refresh_returns_a_new_access_and_refresh_token(acme_admin):
    first = acme_admin.sign_in()
    response = acme_admin.refresh(first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert set(second["scope"].split()) == set(first["scope"].split())
    assert acme_admin.introspect(first["access_token"]).json()["active"] is False
    assert acme_admin.introspect(second["access_token"]).json()["active"] is True


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(acme_admin):
    first = acme_admin.sign_in()
    second = acme_admin.refresh(first["refresh_token"]).json()
    third = acme_admin.refresh(second["refresh_token"]).json()

    replay = acme_admin.refresh(first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The thief's replay costs the legitimate holder too: the newest tokens are dead as well.
    assert acme_admin.refresh(third["refresh_token"]).json()["error"] == "invalid_grant"
    assert acme_admin.introspect(third["access_token"]).json()["active"] is False


def test_reuse_revokes_only_its_own_family(acme_admin):
    stolen = acme_admin.sign_in()
    acme_admin.refresh(stolen["refresh_token"])
    other_session = acme_admin.sign_in()
    acme_admin.refresh(stolen["refresh_token"])
    assert acme_admin.refresh(other_session["refresh_token"]).status_code == 200


def test_revoking_the_refresh_token_ends_the_session_and_forgets_the_consent(acme_admin):
    tokens = acme_admin.sign_in()
    assert acme_admin.revoke(tokens["refresh_token"]).status_code == 200
    assert acme_admin.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert acme_admin.introspect(tokens["access_token"]).json()["active"] is False
    # A disconnected client must ask again next time.
    assert not ScopeConsent.objects.exists()
    assert acme_admin.open(acme_admin.authorization()).status_code == 200


def test_revoking_one_of_several_sessions_keeps_the_consent(acme_admin):
    first = acme_admin.sign_in()
    acme_admin.sign_in()
    acme_admin.revoke(first["refresh_token"])
    assert ScopeConsent.objects.exists()


def test_revoking_an_access_token_also_revokes_its_refresh_token(acme_admin):
    tokens = acme_admin.sign_in()
    assert acme_admin.revoke(tokens["access_token"], hint="access_token").status_code == 200
    assert acme_admin.introspect(tokens["access_token"]).json()["active"] is False
    assert acme_admin.refresh(tokens["refresh_token"]).status_code == 400


def test_a_client_cannot_revoke_without_its_secret(acme_admin):
    tokens = acme_admin.sign_in()
    response = acme_admin.api.post(
        "/oauth/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(acme_admin.client_id, "wrong"),
    )
    assert response.status_code == 401
    assert acme_admin.introspect(tokens["access_token"]).json()["active"] is True


def test_introspection_describes_an_active_token(acme_admin):
    tokens = acme_admin.sign_in()
    described = acme_admin.introspect(tokens["access_token"]).json()
    assert described["active"] is True
    assert described["client_id"] == acme_admin.client_id
    assert described["username"] == "admin@acme.example"
    assert set(described["scope"].split()) == {"openid", "profile", "email", "vm:read"}
    assert described["exp"] > 0


def test_introspection_answers_inactive_for_an_unknown_or_expired_token(acme_admin):
    tokens = acme_admin.sign_in()
    assert acme_admin.introspect("no-such-token").json() == {"active": False}
    AccessToken.objects.update(expires="2000-01-01T00:00:00Z")
    assert acme_admin.introspect(tokens["access_token"]).json() == {"active": False}


@pytest.fixture
def another_client(demo_users: dict[str, User]) -> RelyingParty:
    """A second registered application, signed in as the same user as the portal's `acme_admin`."""
    application, secret = client_register(name="Acme Reporting Tool", redirect_uris=[REDIRECT_URI])
    return relying_party_for(demo_users["admin@acme.example"], (application.client_id, secret))


def test_introspection_answers_inactive_for_a_token_issued_to_another_client(acme_admin, another_client):
    tokens = acme_admin.sign_in()
    assert another_client.introspect(tokens["access_token"]).json() == {"active": False}
    by_body = another_client.api.post(
        "/oauth/introspect/",
        {"token": tokens["access_token"], "client_id": another_client.client_id,
         "client_secret": another_client.client_secret},
    )  # fmt: skip
    assert by_body.json() == {"active": False}
    # The token is live all the same: its own client still sees it.
    assert acme_admin.introspect(tokens["access_token"]).json()["active"] is True


def test_each_client_may_introspect_the_tokens_issued_to_itself(acme_admin, another_client):
    portal_tokens, tool_tokens = acme_admin.sign_in(), another_client.sign_in()
    described = another_client.introspect(tool_tokens["access_token"]).json()
    assert described["active"] is True
    assert described["client_id"] == another_client.client_id
    assert acme_admin.introspect(portal_tokens["access_token"]).json()["client_id"] == acme_admin.client_id
    assert acme_admin.introspect(tool_tokens["access_token"]).json() == {"active": False}


def test_introspection_requires_client_authentication(acme_admin):
    tokens = acme_admin.sign_in()
    response = acme_admin.api.post("/oauth/introspect/", {"token": tokens["access_token"]})
    assert response.status_code in {401, 403}
    assert b"active" not in response.content


def test_the_token_endpoint_accepts_client_secret_post_too(acme_admin):
    first = acme_admin.sign_in()
    response = acme_admin.api.post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": acme_admin.client_id,
            "client_secret": acme_admin.client_secret,
        },
    )
    assert response.status_code == 200


def _forget_cached_oauth_servers(view_class: type = OAuthLibMixin) -> None:
    # DOT keeps one oauthlib server per view class, built from the settings of its first request.
    for subclass in view_class.__subclasses__():
        if "_oauthlib_core" in vars(subclass):
            delattr(subclass, "_oauthlib_core")
        _forget_cached_oauth_servers(subclass)


@pytest.fixture
def five_second_tokens(settings):
    _forget_cached_oauth_servers()
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ACCESS_TOKEN_EXPIRE_SECONDS": 5}
    yield
    _forget_cached_oauth_servers()


def test_the_access_token_lifetime_is_the_configured_one(acme_admin, five_second_tokens):
    tokens = acme_admin.sign_in()
    assert tokens["expires_in"] == 5
    assert acme_admin.refresh(tokens["refresh_token"]).json()["expires_in"] == 5


def test_the_lifetime_comes_from_sandbox_access_token_lifetime():
    program = (
        "import django; django.setup(); from oauth2_provider.settings import oauth2_settings as s; "
        "print(s.ACCESS_TOKEN_EXPIRE_SECONDS)"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        "SANDBOX_ACCESS_TOKEN_LIFETIME": "42",
    }
    completed = subprocess.run(
        [sys.executable, "-c", program], env=environment, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "42"


def test_userinfo_carries_the_partner_claims(acme_admin):
    tokens = acme_admin.sign_in("openid profile email vm:read")
    response = acme_admin.api.get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 200
    claims = response.json()
    user_id = RefreshToken.objects.get().user_id
    assert claims["sub"] == str(user_id)
    assert claims["email"] == "admin@acme.example"
    assert claims["name"] == "Alice Admin"
    assert claims["partner_id"] == "partner-acme"
    assert claims["partner_role"] == "admin"


def test_userinfo_with_openid_alone_still_names_the_partner_and_role(globex_operator):
    tokens = globex_operator.sign_in("openid vm:read")
    claims = globex_operator.api.get(
        "/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    ).json()
    assert claims["partner_id"] == "partner-globex"
    assert claims["partner_role"] == "operator"
    assert "email" not in claims and "name" not in claims


def test_userinfo_refuses_a_revoked_token(acme_admin):
    tokens = acme_admin.sign_in()
    acme_admin.revoke(tokens["refresh_token"])
    response = acme_admin.api.get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 401


def _verified_claims(rp, id_token: str) -> dict:
    keys = jwk.JWKSet.from_json(rp.api.get("/oauth/.well-known/jwks.json").content)
    token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256"])
    return json.loads(token.claims)


def test_the_id_token_is_rs256_signed_and_carries_the_claims_and_nonce(acme_admin):
    authorization = acme_admin.authorization("openid profile email vm:read")
    acme_admin.open(authorization)
    response = acme_admin.answer_consent(authorization, allow=True)
    code = query_of(response["Location"])["code"]
    tokens = acme_admin.exchange(code, authorization.verifier).json()
    claims = _verified_claims(acme_admin, tokens["id_token"])
    assert claims["iss"] == "http://testserver/oauth"
    assert claims["aud"] == acme_admin.client_id
    assert claims["nonce"] == authorization.params["nonce"]
    assert claims["email"] == "admin@acme.example"
    assert claims["name"] == "Alice Admin"
    assert claims["partner_id"] == "partner-acme"
    assert claims["partner_role"] == "admin"
    assert claims["sub"]


def test_an_id_token_signed_by_another_key_does_not_verify(acme_admin):
    tokens = acme_admin.sign_in()
    forged_key = jwk.JWK.generate(kty="RSA", size=2048)
    forged = jwt.JWT(
        header={"alg": "RS256"}, claims=json.loads(jwt.JWT(jwt=tokens["id_token"]).token.objects["payload"])
    )
    forged.make_signed_token(forged_key)
    with pytest.raises(Exception, match=r"(?i)verif|key|signature"):
        _verified_claims(acme_admin, forged.serialize())
