"""authenticate_bearer: who an access token speaks for, as the Partner API sees it."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from oauth2_provider.models import AccessToken

from sandbox.identity.auth import InvalidToken, authenticate_bearer
from sandbox.identity.models import User

pytestmark = pytest.mark.django_db


def api_request(authorization: str | None = None):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return RequestFactory().get("/api/v1/vms", **headers)


def test_a_request_without_a_bearer_token_has_no_principal():
    assert authenticate_bearer(api_request()) is None
    assert authenticate_bearer(api_request("Basic dXNlcjpwYXNz")) is None


def test_a_valid_token_names_its_user_partner_role_and_scopes(acme_admin):
    tokens = acme_admin.sign_in("openid profile email vm:read vm:write")
    principal = authenticate_bearer(api_request(f"Bearer {tokens['access_token']}"))
    assert principal.user.email == "admin@acme.example"
    assert principal.partner.partner_id == "partner-acme"
    assert principal.role == "admin"
    assert principal.scopes == {"openid", "profile", "email", "vm:read", "vm:write"}


def test_each_partners_token_reaches_only_its_own_partner(acme_admin, globex_operator):
    acme = authenticate_bearer(api_request(f"Bearer {acme_admin.sign_in()['access_token']}"))
    globex = authenticate_bearer(api_request(f"Bearer {globex_operator.sign_in()['access_token']}"))
    assert acme.partner.partner_id == "partner-acme"
    assert globex.partner.partner_id == "partner-globex"
    assert globex.role == "operator"


def test_a_viewers_token_never_carries_a_write_scope(acme_viewer):
    tokens = acme_viewer.sign_in("openid vm:read vm:write migration:execute partner:admin")
    principal = authenticate_bearer(api_request(f"Bearer {tokens['access_token']}"))
    assert principal.scopes == {"openid", "vm:read"}
    assert principal.role == "viewer"


@pytest.mark.parametrize("authorization", ["Bearer no-such-token", "Bearer", "Bearer  "])
def test_an_unknown_or_empty_token_is_invalid(authorization, oauth_partners):
    with pytest.raises(InvalidToken):
        authenticate_bearer(api_request(authorization))


def test_an_expired_token_is_invalid(acme_admin):
    tokens = acme_admin.sign_in()
    AccessToken.objects.update(expires="2000-01-01T00:00:00Z")
    with pytest.raises(InvalidToken):
        authenticate_bearer(api_request(f"Bearer {tokens['access_token']}"))


def test_a_revoked_token_is_invalid(acme_admin):
    tokens = acme_admin.sign_in()
    acme_admin.revoke(tokens["access_token"], hint="access_token")
    with pytest.raises(InvalidToken):
        authenticate_bearer(api_request(f"Bearer {tokens['access_token']}"))


def test_the_token_of_a_disabled_user_is_invalid(acme_admin):
    tokens = acme_admin.sign_in()
    User.objects.filter(email="admin@acme.example").update(is_active=False)
    with pytest.raises(InvalidToken):
        authenticate_bearer(api_request(f"Bearer {tokens['access_token']}"))


def test_a_staff_token_reaches_no_partner(demo_users, portal_client):
    from sandbox.tests.oauth_fixtures import relying_party_for

    staff = relying_party_for(demo_users["staff@novacron.example"], portal_client)
    tokens = staff.sign_in("openid profile email vm:read")
    assert tokens["scope"].split() == ["openid", "profile", "email"]
    with pytest.raises(InvalidToken):
        authenticate_bearer(api_request(f"Bearer {tokens['access_token']}"))
