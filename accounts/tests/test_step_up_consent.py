from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.messages import get_messages

from accounts.models import OAuthToken
from accounts.tests import fake_novacron
from accounts.tests.fake_novacron import Authorization

pytestmark = pytest.mark.django_db


def test_a_grant_asks_for_the_current_scopes_plus_the_new_one(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner, "openid profile email vm:read")
    response = client_of(owner).get("/accounts/grant/", {"scope": "vm:write", "next": "/vms/vm-1/"})

    assert response.status_code == 302
    assert Authorization.from_location(response["Location"]).scope == [
        "email",
        "openid",
        "profile",
        "vm:read",
        "vm:write",
    ]


def test_a_granted_scope_is_stored_and_the_user_returns_to_the_page(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner)
    client = client_of(owner)
    authorization = Authorization.from_location(
        client.get("/accounts/grant/", {"scope": "vm:write", "next": "/vms/vm-1/"})["Location"]
    )
    novacron.answer_code_exchange(
        nonce=authorization.nonce,
        sub=owner.novacron_sub,
        scope="openid profile email vm:read vm:write",
        access_token="with-write",
    )

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert (response.status_code, response["Location"]) == (302, "/vms/vm-1/")
    token = OAuthToken.objects.get(user=owner)
    assert "vm:write" in token.scopes and token.access_token == "with-write"


def test_denying_a_grant_keeps_the_user_signed_in_with_their_tokens(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner)
    client = client_of(owner)
    authorization = Authorization.from_location(
        client.get("/accounts/grant/", {"scope": "vm:write", "next": "/vms/"})["Location"]
    )

    response = client.get("/accounts/callback/", {"error": "access_denied", "state": authorization.state})

    assert (response.status_code, response["Location"]) == (302, "/vms/")
    assert "not granted" in next(str(m) for m in get_messages(response.wsgi_request))
    assert OAuthToken.objects.get(user=owner).access_token == f"access-{owner.pk}"


def test_a_grant_approved_as_another_novacron_user_is_refused(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner)
    client = client_of(owner)
    authorization = Authorization.from_location(
        client.get("/accounts/grant/", {"scope": "vm:write"})["Location"]
    )
    novacron.answer_code_exchange(nonce=authorization.nonce, sub="someone-else", scope="openid vm:write")

    response = client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    assert response.status_code == 400
    assert OAuthToken.objects.get(user=owner).access_token == f"access-{owner.pk}"


def test_only_known_scopes_can_be_asked_for(client_of: Any, owner: Any, grant: Any) -> None:
    grant(owner)
    assert client_of(owner).get("/accounts/grant/", {"scope": "root"}).status_code == 400


def test_the_account_page_lists_granted_and_missing_scopes(client_of: Any, owner: Any, grant: Any) -> None:
    grant(owner, "openid profile email vm:read vm:write")
    response = client_of(owner).get("/accounts/")
    assert response.status_code == 200
    assert response.context["granted"] == ["openid", "profile", "email", "vm:read", "vm:write"]
    assert response.context["missing"] == ["migration:execute", "partner:admin"]
    assert b"scope=partner%3Aadmin&amp;next=%2Faccounts%2F" in response.content
    assert b"Acme Corp" in response.content


def test_the_account_page_describes_the_sign_in_scopes_too(client_of: Any, owner: Any, grant: Any) -> None:
    grant(owner, "openid profile email vm:read")
    body = client_of(owner).get("/accounts/").content.decode()
    assert "See your email address" in body
    assert "See your organisation&#x27;s virtual machines" in body


def test_the_account_page_offers_no_grant_the_role_cannot_use(
    client_of: Any, viewer: Any, grant: Any
) -> None:
    grant(viewer, "openid profile email vm:read")
    response = client_of(viewer).get("/accounts/")
    assert response.context["missing"] == []
    assert response.context["beyond_role"] == ["vm:write", "migration:execute", "partner:admin"]
    assert b"/accounts/grant/" not in response.content


def test_disconnect_revokes_at_novacron_deletes_tokens_and_signs_out(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner)
    revocation = novacron.mock.add(responses.POST, fake_novacron.REVOKE_URL, status=200)
    client = client_of(owner)

    response = client.post("/accounts/disconnect/")

    assert response.status_code == 302
    assert revocation.call_count == 1
    assert f"token=refresh-{owner.pk}" in revocation.calls[0].request.body
    assert not OAuthToken.objects.filter(user=owner).exists()
    assert client.get("/accounts/").status_code == 302
