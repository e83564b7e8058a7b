"""Both auth modes, every 401 reason, scopes, roles and partner isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from sandbox.core.models import Partner
from sandbox.identity.models import User
from sandbox.tests.conftest import PartnerClient

pytestmark = pytest.mark.django_db


def _assert_unauthorized(response: object) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "unauthorized"
    assert body["request_id"] == response["X-Request-ID"]


def test_it_accepts_a_correct_signature(acme_api: PartnerClient) -> None:
    response = acme_api.get("/api/v1/partners/partner-acme")
    assert response.status_code == 200
    assert response.json()["tier"] == "gold"


def test_it_rejects_a_bad_signature(acme: Partner) -> None:
    api = PartnerClient(acme.credentials.get(), secret="not-the-secret-at-all")
    _assert_unauthorized(api.get("/api/v1/vms"))


def test_it_rejects_a_stale_timestamp(acme: Partner) -> None:
    _assert_unauthorized(PartnerClient(acme.credentials.get(), timestamp_offset=-301).get("/api/v1/vms"))
    assert PartnerClient(acme.credentials.get(), timestamp_offset=-290).get("/api/v1/vms").status_code == 200


def test_it_rejects_another_partners_key(acme: Partner, globex: Partner) -> None:
    api = PartnerClient(
        globex.credentials.get(), partner_id="partner-acme", secret=globex.credentials.get().api_secret
    )
    _assert_unauthorized(api.get("/api/v1/vms"))


def test_it_rejects_an_unknown_key_and_missing_headers(acme_api: PartnerClient) -> None:
    acme_api.credential.api_key = "nck_unknown"
    _assert_unauthorized(acme_api.get("/api/v1/vms"))
    _assert_unauthorized(acme_api.client.get("/api/v1/vms"))


def test_another_partners_resources_are_not_found(acme_api: PartnerClient, globex: Partner) -> None:
    response = acme_api.get("/api/v1/partners/partner-globex")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def _bearer(partner: Partner, role: str, scope: str, *, expired: bool = False) -> dict[str, str]:
    user = User.objects.create_user(email=f"{role}-{scope.replace(':', '')}@{partner.partner_id}.example",
                                    password="x", partner=partner, role=role)  # fmt: skip
    application = Application.objects.create(
        name="test", client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type="authorization-code",
        redirect_uris="http://127.0.0.1/cb", user=None,
    )  # fmt: skip
    expires = timezone.now() + (timedelta(hours=-1) if expired else timedelta(hours=1))
    token = AccessToken.objects.create(user=user, application=application, token=f"tok-{user.pk}-{scope.replace(' ', '-')}",
                                       expires=expires, scope=scope)  # fmt: skip
    return {"Authorization": f"Bearer {token.token}"}


def test_a_bearer_token_with_the_scope_reads(acme: Partner) -> None:
    headers = _bearer(acme, "viewer", "vm:read")
    response = PartnerClient(acme.credentials.get()).client.get("/api/v1/vms", headers=headers)
    assert response.status_code == 200


def test_a_bearer_token_without_the_scope_gets_insufficient_scope(acme: Partner) -> None:
    headers = _bearer(acme, "admin", "vm:read")
    client = PartnerClient(acme.credentials.get()).client
    response = client.post(
        "/api/v1/metrics", {"name": "x", "value": 1}, content_type="application/json", headers=headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert response.json()["error"]["details"]["scope"] == "vm:write"
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="vm:write"'


def test_a_viewer_cannot_write_even_with_the_scope(acme: Partner) -> None:
    headers = _bearer(acme, "viewer", "vm:read vm:write")
    client = PartnerClient(acme.credentials.get()).client
    response = client.post(
        "/api/v1/metrics", {"name": "x", "value": 1}, content_type="application/json", headers=headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_an_expired_or_unknown_token_is_invalid(acme: Partner) -> None:
    client = PartnerClient(acme.credentials.get()).client
    for headers in (_bearer(acme, "admin", "vm:read", expired=True), {"Authorization": "Bearer nope"}):
        response = client.get("/api/v1/vms", headers=headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_token_of_another_partner_sees_only_its_own(acme: Partner, globex: Partner) -> None:
    headers = _bearer(globex, "admin", "vm:read")
    client = PartnerClient(acme.credentials.get()).client
    assert client.get("/api/v1/partners/partner-acme", headers=headers).status_code == 404
    assert client.get("/api/v1/partners/partner-globex", headers=headers).status_code == 200
