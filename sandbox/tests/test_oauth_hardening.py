"""The authorization server's details: exact redirect URIs for confidential clients, and a replayed
authorization code revoking every token it gave (RFC 6749 §4.1.2)."""

from __future__ import annotations

from typing import Any

import pytest
from oauth2_provider.models import AccessToken, Application, RefreshToken

from sandbox.identity.models import User
from sandbox.identity.services import client_register
from sandbox.tests.oauth_fixtures import RelyingParty, query_of, relying_party_for

pytestmark = pytest.mark.django_db
LOOPBACK_CALLBACK = "http://127.0.0.1:8000/accounts/callback/"


@pytest.fixture
def loopback_portal(demo_users: dict[str, User], fast_hashing: None) -> RelyingParty:
    application, secret = client_register(name="Loopback portal", redirect_uris=[LOOPBACK_CALLBACK])
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    return relying_party_for(demo_users["admin@acme.example"], (application.client_id, secret))


def _code_for(party: RelyingParty, redirect_uri: str) -> tuple[str, str] | Any:
    authorization = party.authorization(redirect_uri=redirect_uri)
    response = party.open(authorization)
    if response.status_code == 200:
        response = party.answer_consent(authorization, allow=True)
    return response


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:9999/accounts/callback/",  # another loopback port
        "http://127.0.0.1/accounts/callback/",
        "http://[::1]:8000/accounts/callback/",
        "http://127.0.0.1:8000/accounts/callback/extra",
        "http://127.0.0.1:8000/accounts/callback/?next=/elsewhere",
        "http://127.0.0.1:8000/accounts/callback",
    ],
)
def test_a_confidential_client_gets_only_its_exact_redirect_uri(
    loopback_portal: RelyingParty, redirect_uri: str
) -> None:
    response = loopback_portal.open(loopback_portal.authorization(redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "Location" not in response


def test_the_registered_redirect_uri_itself_still_works(loopback_portal: RelyingParty) -> None:
    response = _code_for(loopback_portal, LOOPBACK_CALLBACK)
    assert response.status_code == 302
    assert response["Location"].startswith(LOOPBACK_CALLBACK + "?")
    assert "code" in query_of(response["Location"])


def test_a_public_client_keeps_the_loopback_port_flexibility_of_native_apps(
    demo_users: dict[str, User], fast_hashing: None
) -> None:
    application, _secret = client_register(name="CLI", redirect_uris=["http://127.0.0.1/callback"])
    application.client_type = Application.CLIENT_PUBLIC
    application.save()
    party = relying_party_for(demo_users["admin@acme.example"], (application.client_id, ""))
    response = _code_for(party, "http://127.0.0.1:53124/callback")
    assert response.status_code == 302 and response["Location"].startswith("http://127.0.0.1:53124/callback?")


def _signed_in_with_code(party: RelyingParty) -> tuple[str, str, dict[str, Any]]:
    authorization = party.authorization()
    response = party.open(authorization)
    if response.status_code == 200:
        response = party.answer_consent(authorization, allow=True)
    code = query_of(response["Location"])["code"]
    exchanged = party.exchange(code, authorization.verifier)
    assert exchanged.status_code == 200
    return code, authorization.verifier, exchanged.json()


def test_replaying_a_code_revokes_the_access_and_refresh_tokens_it_gave(acme_admin: RelyingParty) -> None:
    code, verifier, tokens = _signed_in_with_code(acme_admin)
    assert acme_admin.introspect(tokens["access_token"]).json()["active"] is True

    replay = acme_admin.exchange(code, verifier)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert acme_admin.introspect(tokens["access_token"]).json()["active"] is False
    assert acme_admin.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_replaying_a_code_also_revokes_the_tokens_refreshed_from_it(acme_admin: RelyingParty) -> None:
    code, verifier, tokens = _signed_in_with_code(acme_admin)
    refreshed = acme_admin.refresh(tokens["refresh_token"]).json()
    again = acme_admin.refresh(refreshed["refresh_token"]).json()

    assert acme_admin.exchange(code, verifier).json()["error"] == "invalid_grant"

    assert acme_admin.introspect(again["access_token"]).json()["active"] is False
    assert acme_admin.refresh(again["refresh_token"]).json()["error"] == "invalid_grant"
    assert not AccessToken.objects.filter(user__email="admin@acme.example").exists()
    assert not RefreshToken.objects.filter(user__email="admin@acme.example", revoked__isnull=True).exists()


def test_a_replay_leaves_the_other_sign_ins_alone(acme_admin: RelyingParty) -> None:
    code, verifier, _stolen = _signed_in_with_code(acme_admin)
    _other_code, _other_verifier, other = _signed_in_with_code(acme_admin)

    acme_admin.exchange(code, verifier)

    assert acme_admin.introspect(other["access_token"]).json()["active"] is True
    assert acme_admin.refresh(other["refresh_token"]).status_code == 200


def test_an_unknown_code_revokes_nothing(acme_admin: RelyingParty) -> None:
    _code, verifier, tokens = _signed_in_with_code(acme_admin)
    assert acme_admin.exchange("never-issued", verifier).json()["error"] == "invalid_grant"
    assert acme_admin.introspect(tokens["access_token"]).json()["active"] is True
