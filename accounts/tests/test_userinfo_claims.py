"""Sign-in against a standard OpenID provider: the userinfo merge, the claim-name settings and
`offline_access` (accounts.oauth.identity_claims and authorization_request)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client

from accounts.models import OAuthToken, User
from accounts.tests import fake_novacron
from accounts.tests.fake_novacron import Authorization, FakeNovaCron

pytestmark = pytest.mark.django_db

PARTNER_CLAIMS = {"partner_id": "partner-acme", "partner_role": "operator"}
PERSON = {"sub": "u-plain", "email": "operator@acme.example", "name": "Olga Operator"}


def start_sign_in(client: Client) -> tuple[Authorization, dict[str, str]]:
    response = client.post("/accounts/login/", {"next": "/accounts/"})
    assert response.status_code == 302
    query = {key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()}
    return Authorization.from_location(response["Location"]), query


def userinfo_calls(novacron: FakeNovaCron) -> int:
    return sum(1 for call in novacron.mock.calls if call.request.url == fake_novacron.USERINFO_URL)


def offer_offline_access(novacron: FakeNovaCron) -> None:
    document = {
        **fake_novacron.discovery_document(),
        "scopes_supported": ["openid", "email", "offline_access"],
    }
    novacron.mock.replace(
        responses.GET, fake_novacron.ISSUER + "/.well-known/openid-configuration", json=document
    )


def test_partner_claims_and_email_missing_from_the_id_token_come_from_userinfo(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization, _ = start_sign_in(client)
    novacron.answer_code_exchange_as_standard_provider(
        id_token_claims={"sub": "u-plain", "nonce": authorization.nonce},
        userinfo={**PERSON, **PARTNER_CLAIMS},
    )

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert (response.status_code, response["Location"]) == (302, "/accounts/")
    user = User.objects.get(novacron_sub="u-plain")
    assert (user.partner, user.role, user.email, user.full_name) == (
        partner,
        "operator",
        "operator@acme.example",
        "Olga Operator",
    )
    assert userinfo_calls(novacron) == 1
    sent = next(
        call.request for call in novacron.mock.calls if call.request.url == fake_novacron.USERINFO_URL
    )
    assert sent.headers["Authorization"] == "Bearer access-1"


def test_an_id_token_with_every_claim_needs_no_userinfo_call(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization, _ = start_sign_in(client)
    novacron.answer_code_exchange(nonce=authorization.nonce, sub="u-full", role="viewer")

    client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert User.objects.get(novacron_sub="u-full").role == "viewer"
    assert userinfo_calls(novacron) == 0


def test_only_email_missing_is_enough_to_ask_userinfo_and_the_id_tokens_values_stay(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization, _ = start_sign_in(client)
    novacron.answer_code_exchange_as_standard_provider(
        id_token_claims={"sub": "u-plain", "nonce": authorization.nonce, **PARTNER_CLAIMS},
        userinfo={**PERSON, "partner_id": "partner-other", "partner_role": "admin"},
    )

    client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    user = User.objects.get(novacron_sub="u-plain")
    assert (user.partner, user.role, user.email) == (partner, "operator", "operator@acme.example")
    assert userinfo_calls(novacron) == 1


def test_a_userinfo_answer_about_another_subject_is_not_used(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization, _ = start_sign_in(client)
    novacron.answer_code_exchange_as_standard_provider(
        id_token_claims={"sub": "u-plain", "nonce": authorization.nonce},
        userinfo={**PERSON, "sub": "u-someone-else", **PARTNER_CLAIMS},
    )

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 400
    assert b"did not tell us who you are" in response.content
    assert not User.objects.exists() and not OAuthToken.objects.exists()


def test_a_failing_userinfo_endpoint_ends_on_a_friendly_page(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization, _ = start_sign_in(client)
    novacron.answer_code_exchange_as_standard_provider(
        id_token_claims={"sub": "u-plain", "nonce": authorization.nonce}, userinfo=None
    )
    novacron.mock.add(responses.GET, fake_novacron.USERINFO_URL, status=401, json={"error": "invalid_token"})

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 400
    assert not User.objects.exists()


def test_the_partner_and_role_claim_names_are_settings(
    client: Client, novacron: FakeNovaCron, partner: Any, settings: Any
) -> None:
    settings.OIDC_PARTNER_CLAIM = "https://novacron.example/org"
    settings.OIDC_ROLE_CLAIM = "org_role"
    authorization, _ = start_sign_in(client)
    novacron.answer_code_exchange_as_standard_provider(
        id_token_claims={"sub": "u-plain", "nonce": authorization.nonce},
        userinfo={**PERSON, "https://novacron.example/org": "partner-acme", "org_role": "admin"},
    )

    client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    user = User.objects.get(novacron_sub="u-plain")
    assert (user.partner, user.role) == (partner, "admin")


def test_with_other_claim_names_set_the_default_ones_are_not_read(
    client: Client, novacron: FakeNovaCron, partner: Any, settings: Any
) -> None:
    settings.OIDC_PARTNER_CLAIM = "org"
    authorization, _ = start_sign_in(client)
    novacron.answer_code_exchange_as_standard_provider(
        id_token_claims={"sub": "u-plain", "nonce": authorization.nonce},
        userinfo={**PERSON, **PARTNER_CLAIMS},
    )

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 403
    assert b"isn't set up in this portal" in response.content
    assert not User.objects.exists()


def test_offline_access_and_prompt_consent_are_asked_for_when_the_issuer_lists_it(
    client: Client, novacron: FakeNovaCron
) -> None:
    offer_offline_access(novacron)
    authorization, query = start_sign_in(client)
    assert authorization.scope == ["openid", "profile", "email", "vm:read", "offline_access"]
    assert query["prompt"] == "consent"


def test_prompt_consent_can_be_left_out_for_a_provider_that_does_not_need_it(
    client: Client, novacron: FakeNovaCron, settings: Any
) -> None:
    settings.OIDC_OFFLINE_ACCESS_PROMPT_CONSENT = False
    offer_offline_access(novacron)
    authorization, query = start_sign_in(client)
    assert "offline_access" in authorization.scope and "prompt" not in query


def test_no_offline_access_or_prompt_when_the_issuer_does_not_list_it(
    client: Client, novacron: FakeNovaCron
) -> None:
    authorization, query = start_sign_in(client)
    assert "offline_access" not in authorization.scope and "prompt" not in query


def test_a_step_up_grant_asks_for_offline_access_too(
    client_of: Any, owner: Any, grant: Any, novacron: FakeNovaCron
) -> None:
    offer_offline_access(novacron)
    grant(owner, "openid profile email vm:read")
    response = client_of(owner).get("/accounts/grant/", {"scope": "vm:write", "next": "/vms/"})

    scopes = Authorization.from_location(response["Location"]).scope
    assert scopes.count("offline_access") == 1 and "vm:write" in scopes
