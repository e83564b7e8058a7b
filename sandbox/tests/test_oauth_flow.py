"""The authorization code flow as a person and a relying party live it: login, consent, PKCE, step-up."""

from __future__ import annotations

import pytest

from sandbox.identity.models import ScopeConsent
from sandbox.tests.oauth_fixtures import REDIRECT_URI, query_of

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_back(anonymous):
    authorization = anonymous.authorization()
    response = anonymous.open(authorization)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")

    login = anonymous.browser.get(response["Location"])
    assert b"admin@acme.example" in login.content  # the sandbox lists its demo logins
    signed_in = anonymous.browser.post(
        "/accounts/login/",
        {"username": "admin@acme.example", "password": "novacron", "next": authorization.url},
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == authorization.url


def test_a_wrong_password_is_refused(anonymous):
    response = anonymous.browser.post(
        "/accounts/login/", {"username": "admin@acme.example", "password": "nope"}
    )
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    assert b"correct" in response.content  # Django's "Please enter a correct email and password"


def test_the_consent_screen_lists_each_requested_scope_in_plain_words(acme_admin):
    response = acme_admin.open(acme_admin.authorization("openid profile email vm:read vm:write"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "NovaCron Partner Portal wants to access your NovaCron account" in page
    assert "Create, start, stop and delete virtual machines" in page
    assert "See your email address" in page
    assert 'name="allow"' in page and 'name="deny"' in page
    assert [scope for scope, _ in response.context["new_scopes"]] == [
        "openid",
        "profile",
        "email",
        "vm:read",
        "vm:write",
    ]


def test_allow_redirects_back_with_a_code_state_and_issuer(acme_admin):
    authorization = acme_admin.authorization()
    acme_admin.open(authorization)
    response = acme_admin.answer_consent(authorization, allow=True)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI)
    callback = query_of(response["Location"])
    assert callback["state"] == authorization.params["state"]
    assert callback["iss"] == "http://testserver/oauth"
    tokens = acme_admin.exchange(callback["code"], authorization.verifier).json()
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"openid", "profile", "email", "vm:read"}
    assert tokens["refresh_token"] and tokens["id_token"]


def test_deny_redirects_back_with_access_denied_and_no_code(acme_admin):
    authorization = acme_admin.authorization()
    acme_admin.open(authorization)
    response = acme_admin.answer_consent(authorization, allow=False)
    assert response.status_code == 302
    callback = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT_URI)
    assert callback["error"] == "access_denied"
    assert callback["state"] == authorization.params["state"]
    assert "code" not in callback
    assert not ScopeConsent.objects.exists()


def test_a_request_without_a_code_challenge_is_refused(acme_admin):
    authorization = acme_admin.authorization(code_challenge=None, code_challenge_method=None)
    response = acme_admin.open(authorization)
    assert response.status_code == 302
    callback = query_of(response["Location"])
    assert callback["error"] == "invalid_request"
    assert "code" not in callback


def test_the_plain_code_challenge_method_is_refused(acme_admin):
    authorization = acme_admin.authorization(code_challenge="a" * 43, code_challenge_method="plain")
    response = acme_admin.open(authorization)
    if response.status_code == 200:  # refused when the code would be created
        response = acme_admin.answer_consent(authorization, allow=True)
    callback = query_of(response["Location"])
    assert callback["error"] == "invalid_request"
    assert "code" not in callback


def test_a_wrong_code_verifier_gets_invalid_grant(acme_admin):
    authorization = acme_admin.authorization()
    acme_admin.open(authorization)
    code = query_of(acme_admin.answer_consent(authorization, allow=True)["Location"])["code"]
    response = acme_admin.exchange(code, "not-the-verifier-" + "x" * 40)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_code_without_its_verifier_is_refused(acme_admin):
    authorization = acme_admin.authorization()
    acme_admin.open(authorization)
    code = query_of(acme_admin.answer_consent(authorization, allow=True)["Location"])["code"]
    response = acme_admin.exchange(code, None)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}


def test_a_code_is_spent_only_once(acme_admin):
    authorization = acme_admin.authorization()
    acme_admin.open(authorization)
    code = query_of(acme_admin.answer_consent(authorization, allow=True)["Location"])["code"]
    assert acme_admin.exchange(code, authorization.verifier).status_code == 200
    again = acme_admin.exchange(code, authorization.verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_asking_again_for_granted_scopes_skips_the_screen(acme_admin):
    acme_admin.sign_in()
    authorization = acme_admin.authorization()
    response = acme_admin.open(authorization)
    assert response.status_code == 302
    assert "code" in query_of(response["Location"])


def test_step_up_lists_only_the_new_scopes_and_the_token_carries_the_union(acme_admin):
    acme_admin.sign_in("openid profile email vm:read")
    authorization = acme_admin.authorization("openid profile email vm:read vm:write")
    response = acme_admin.open(authorization)
    assert response.status_code == 200
    assert [scope for scope, _ in response.context["new_scopes"]] == ["vm:write"]
    assert [scope for scope, _ in response.context["granted_scopes"]] == [
        "openid",
        "profile",
        "email",
        "vm:read",
    ]
    assert "already granted" in response.content.decode()

    callback = query_of(acme_admin.answer_consent(authorization, allow=True)["Location"])
    tokens = acme_admin.exchange(callback["code"], authorization.verifier).json()
    assert set(tokens["scope"].split()) == {"openid", "profile", "email", "vm:read", "vm:write"}
    consent = ScopeConsent.objects.get()
    assert consent.scopes == {"openid", "profile", "email", "vm:read", "vm:write"}


def test_denying_a_step_up_keeps_what_was_granted_before(acme_admin):
    acme_admin.sign_in("openid vm:read")
    authorization = acme_admin.authorization("openid vm:read migration:execute")
    acme_admin.open(authorization)
    callback = query_of(acme_admin.answer_consent(authorization, allow=False)["Location"])
    assert callback["error"] == "access_denied"
    assert ScopeConsent.objects.get().scopes == {"openid", "vm:read"}


def test_a_viewer_asking_for_vm_write_is_told_why_and_the_token_omits_it(acme_viewer):
    authorization = acme_viewer.authorization("openid profile email vm:read vm:write")
    response = acme_viewer.open(authorization)
    assert response.status_code == 200
    assert [scope for scope, _ in response.context["refused_scopes"]] == ["vm:write"]
    assert "vm:write" not in [scope for scope, _ in response.context["new_scopes"]]
    assert "Your role (viewer) does not allow this" in response.content.decode()

    callback = query_of(acme_viewer.answer_consent(authorization, allow=True)["Location"])
    tokens = acme_viewer.exchange(callback["code"], authorization.verifier).json()
    assert set(tokens["scope"].split()) == {"openid", "profile", "email", "vm:read"}


def test_a_viewer_cannot_slip_a_write_scope_into_the_consent_form(acme_viewer):
    authorization = acme_viewer.authorization("openid vm:read")
    acme_viewer.open(authorization)
    response = acme_viewer.answer_consent(
        authorization, allow=True, scope="openid vm:read vm:write partner:admin"
    )
    tokens = acme_viewer.exchange(query_of(response["Location"])["code"], authorization.verifier).json()
    assert set(tokens["scope"].split()) == {"openid", "vm:read"}


def test_a_request_for_only_forbidden_scopes_offers_no_allow_button(acme_viewer):
    acme_viewer.sign_in("openid vm:read")
    authorization = acme_viewer.authorization("partner:admin")
    response = acme_viewer.open(authorization)
    assert response.status_code == 200
    assert response.context["nothing_to_grant"] is True
    assert 'name="allow"' not in response.content.decode()
    callback = query_of(acme_viewer.answer_consent(authorization, allow=True)["Location"])
    assert callback["error"] == "access_denied"


def test_a_viewer_with_granted_scopes_still_sees_why_a_write_scope_is_missing(acme_viewer):
    acme_viewer.sign_in("openid vm:read")
    response = acme_viewer.open(acme_viewer.authorization("openid vm:read vm:write"))
    assert response.status_code == 200
    assert response.context["new_scopes"] == []
    assert [scope for scope, _ in response.context["refused_scopes"]] == ["vm:write"]


def test_prompt_none_without_consent_answers_consent_required(acme_admin):
    response = acme_admin.open(acme_admin.authorization(prompt="none"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "consent_required"


def test_prompt_none_for_granted_scopes_answers_with_a_code(acme_admin):
    acme_admin.sign_in()
    response = acme_admin.open(acme_admin.authorization(prompt="none"))
    assert "code" in query_of(response["Location"])


def test_an_unregistered_redirect_uri_is_not_followed(acme_admin):
    response = acme_admin.open(acme_admin.authorization(redirect_uri="http://evil.test/cb"))
    assert response.status_code == 400
    assert "evil.test" not in response.get("Location", "")


def test_signing_out_ends_the_sandbox_session(acme_admin):
    assert acme_admin.browser.get("/accounts/logout/").status_code == 200  # asks first
    response = acme_admin.browser.post("/accounts/logout/")
    assert response.status_code == 200
    assert acme_admin.open(acme_admin.authorization())["Location"].startswith("/accounts/login/")


def test_the_account_page_lists_what_each_application_may_do(acme_admin):
    acme_admin.sign_in()
    page = acme_admin.browser.get("/accounts/").content.decode()
    assert "NovaCron Partner Portal" in page
    assert "See your organisation" in page


def test_prompt_consent_shows_the_screen_even_for_granted_scopes(acme_admin):
    acme_admin.sign_in()
    response = acme_admin.open(acme_admin.authorization(prompt="consent"))
    assert response.status_code == 200
    assert response.context["new_scopes"] == []
    assert len(response.context["granted_scopes"]) == 4
