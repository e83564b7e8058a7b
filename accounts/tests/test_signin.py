from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import OAuthToken, User
from accounts.tests.fake_novacron import Authorization, FakeNovaCron, s256

pytestmark = pytest.mark.django_db


def start_sign_in(client: Client, next_path: str = "") -> Authorization:
    response = client.post("/accounts/login/", {"next": next_path})
    assert response.status_code == 302
    return Authorization.from_location(response["Location"])


def test_the_login_page_offers_sign_in_with_novacron(client: Client) -> None:
    response = client.get("/accounts/login/?next=/vms/")
    assert response.status_code == 200
    assert b"Sign in with NovaCron" in response.content
    assert b'value="/vms/"' in response.content


def test_it_asks_for_the_sign_in_scopes_with_pkce_s256_state_and_nonce(
    client: Client, novacron: FakeNovaCron
) -> None:
    authorization = start_sign_in(client)
    assert authorization.scope == ["openid", "profile", "email", "vm:read"]
    assert authorization.code_challenge_method == "S256"
    assert len(authorization.state) >= 32 and authorization.nonce
    assert authorization.redirect_uri == "http://testserver/accounts/callback/"


def test_a_sign_in_creates_the_user_attached_to_its_partner_and_role(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client, "/accounts/?tab=1")
    novacron.answer_code_exchange(nonce=authorization.nonce, sub="u-42", role="operator")

    response = client.get("/accounts/callback/", {"code": "the-code", "state": authorization.state})

    assert response.status_code == 302 and response["Location"] == "/accounts/?tab=1"
    user = User.objects.get(novacron_sub="u-42")
    assert (user.partner, user.role, user.email) == (partner, "operator", "admin@acme.example")
    assert user.oauth_token.scopes == ["email", "openid", "profile", "vm:read"]
    assert user.oauth_token.access_token == "access-1"
    assert client.get("/accounts/").context["user"] == user


def test_the_code_exchange_sends_the_verifier_matching_the_challenge(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(nonce=authorization.nonce)
    client.get("/accounts/callback/", {"code": "the-code", "state": authorization.state})

    sent = novacron.token_requests[0]
    assert sent["grant_type"] == "authorization_code"
    assert s256(sent["code_verifier"]) == authorization.code_challenge


def test_a_second_sign_in_updates_the_same_user(client: Client, novacron: FakeNovaCron, partner: Any) -> None:
    for role in ("viewer", "admin"):
        authorization = start_sign_in(client)
        novacron.answer_code_exchange(nonce=authorization.nonce, sub="u-7", role=role)
        client.get("/accounts/callback/", {"code": "c", "state": authorization.state})
    assert User.objects.filter(novacron_sub="u-7").count() == 1
    assert User.objects.get(novacron_sub="u-7").role == "admin"


def test_a_forged_state_ends_on_a_friendly_page_without_signing_in(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(nonce=authorization.nonce)

    response = client.get("/accounts/callback/", {"code": "c", "state": "forged-" + authorization.state})

    assert response.status_code == 400
    assert b"expired or was already used" in response.content and b"Try again" in response.content
    assert novacron.token_requests == []
    assert not User.objects.exists()


def test_a_replayed_state_is_refused(client: Client, novacron: FakeNovaCron, partner: Any) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(nonce=authorization.nonce)
    client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    replay = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert replay.status_code == 400
    assert len(novacron.token_requests) == 1


def test_a_callback_from_another_browser_session_is_refused(novacron: FakeNovaCron, partner: Any) -> None:
    victim, attacker = Client(), Client()
    authorization = start_sign_in(attacker)
    novacron.answer_code_exchange(nonce=authorization.nonce)

    response = victim.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 400
    assert not User.objects.exists()


def test_a_rejected_pkce_verifier_ends_on_a_friendly_page(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_token_error("invalid_grant")

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 400
    assert b"PKCE" in response.content
    assert not User.objects.exists()


def test_an_id_token_with_another_nonce_is_refused(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(nonce="not-the-nonce-we-sent")

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 400
    assert not User.objects.exists()


def test_deny_on_the_consent_page_ends_on_a_friendly_page(client: Client, novacron: FakeNovaCron) -> None:
    authorization = start_sign_in(client)

    response = client.get("/accounts/callback/", {"error": "access_denied", "state": authorization.state})

    assert response.status_code == 400
    assert b"You declined access" in response.content
    assert novacron.token_requests == []


def test_a_person_of_a_partner_not_set_up_here_gets_a_clear_page_and_no_account(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(nonce=authorization.nonce, partner_id="partner-initech")

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 403
    assert b"isn't set up in this portal" in response.content
    assert not User.objects.exists() and not OAuthToken.objects.exists()


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_next_to_another_site_is_refused(
    client: Client, novacron: FakeNovaCron, partner: Any, next_path: str
) -> None:
    authorization = start_sign_in(client, next_path)
    novacron.answer_code_exchange(nonce=authorization.nonce)

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith("//")
    assert "evil" not in response["Location"]


def test_tokens_are_unreadable_in_the_raw_database_row(owner: Any, grant: Any) -> None:
    grant(owner)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounts_oauthtoken WHERE user_id = %s", [owner.pk]
        )
        access, refresh = cursor.fetchone()
    assert f"access-{owner.pk}" not in access and f"refresh-{owner.pk}" not in refresh
    assert access.startswith("gAAAA")  # a Fernet token
    assert OAuthToken.objects.get(user=owner).access_token == f"access-{owner.pk}"


def test_sign_out_ends_the_portal_session(client_of: Any, owner: Any) -> None:
    client = client_of(owner)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/accounts/").status_code == 302  # back to sign-in


def test_sign_out_needs_a_post(client_of: Any, owner: Any) -> None:
    assert client_of(owner).get("/accounts/logout/").status_code == 405


def test_an_unreachable_novacron_at_sign_in_shows_a_friendly_page(
    client: Client, novacron: FakeNovaCron
) -> None:
    import requests
    import responses

    from accounts import oauth
    from accounts.tests import fake_novacron

    oauth.reset()
    novacron.mock.replace(
        responses.GET,
        fake_novacron.ISSUER + "/.well-known/openid-configuration",
        body=requests.ConnectionError("refused"),
    )

    response = client.post("/accounts/login/", {"next": "/"})

    assert response.status_code == 503
    assert b"cannot be reached" in response.content and b"Try again" in response.content
