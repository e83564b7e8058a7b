from __future__ import annotations

from typing import Any

import pytest
import requests
import responses
from django.contrib.messages import get_messages
from django.template import Context, Template
from django.test import RequestFactory

from accounts.tests import fake_novacron

pytestmark = [pytest.mark.django_db, pytest.mark.urls("accounts.tests.urls")]

PARTNER_URL = fake_novacron.API_URL + "/api/v1/partners/partner-acme"


def insufficient_scope(novacron: Any, method: str = responses.GET) -> None:
    novacron.mock.add(
        method,
        PARTNER_URL,
        status=403,
        headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="partner:admin"'},
        json={
            "error": {
                "code": "insufficient_scope",
                "message": "needs partner:admin",
                "details": {"scope": "partner:admin"},
            }
        },
    )


def test_an_insufficient_scope_page_offers_to_grant_the_scope_and_come_back(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner)
    insufficient_scope(novacron)

    response = client_of(owner).get("/accounts/_probe/novacron/?x=1")

    assert response.status_code == 403
    assert (
        b'href="/accounts/grant/?scope=partner%3Aadmin&amp;next=%2Faccounts%2F_probe%2Fnovacron%2F%3Fx%3D1"'
        in (response.content)
    )


def test_an_unreachable_novacron_shows_a_friendly_503(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner)
    novacron.mock.add(responses.GET, PARTNER_URL, body=requests.ConnectionError("refused"))

    response = client_of(owner).get("/accounts/_probe/novacron/")

    assert response.status_code == 503
    assert b"NovaCron is unreachable" in response.content


def test_a_401_that_survives_the_refresh_sends_the_user_to_sign_in(
    client_of: Any, owner: Any, grant: Any, novacron: Any
) -> None:
    grant(owner)
    novacron.answer_token_error("invalid_grant")
    novacron.mock.add(
        responses.GET,
        PARTNER_URL,
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        json={"error": {"code": "unauthorized", "message": "revoked"}},
    )
    client = client_of(owner)

    response = client.get("/accounts/_probe/novacron/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "sign in again" in next(str(m) for m in get_messages(response.wsgi_request))


def test_the_grant_link_returns_to_the_current_page(owner: Any) -> None:
    request = RequestFactory().get("/vms/vm-1/?tab=actions")
    request.user = owner
    html = Template('{% load portal_tags %}{% grant_link "vm:write" %}').render(Context({"request": request}))
    assert 'href="/accounts/grant/?scope=vm%3Awrite&amp;next=%2Fvms%2Fvm-1%2F%3Ftab%3Dactions"' in html
    assert ">Grant vm:write</a>" in html


def test_the_has_scope_filter_reads_the_granted_scopes(owner: Any, grant: Any) -> None:
    grant(owner, "openid vm:read vm:write")
    template = Template(
        '{% load portal_tags %}{% if user|has_scope:"vm:write" %}w{% endif %}'
        '{% if user|has_scope:"partner:admin" %}a{% endif %}'
    )
    assert template.render(Context({"user": owner})) == "w"
