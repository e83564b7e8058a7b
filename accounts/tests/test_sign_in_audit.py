"""Sign-in and sign-out are in the audit trail as the person's own actions, failures included."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.test import Client

from accounts.models import User
from accounts.tests import fake_novacron
from accounts.tests.fake_novacron import Authorization, FakeNovaCron
from audit.models import AuditEntry
from audit.sessions import SIGN_IN, SIGN_OUT

pytestmark = pytest.mark.django_db
Outcome = AuditEntry.Outcome
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def start_sign_in(client: Client) -> Authorization:
    response = client.post("/accounts/login/", {"next": "/accounts/"})
    assert response.status_code == 302
    return Authorization.from_location(response["Location"])


def rows() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("id"))


def test_a_sign_in_and_a_sign_out_are_the_persons_actions(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(nonce=authorization.nonce, sub="u-42", role="operator")
    client.get("/accounts/callback/", {"code": "the-code", "state": authorization.state})
    user = User.objects.get(novacron_sub="u-42")

    assert client.post("/accounts/logout/").status_code == 302

    signed_in, signed_out = rows()
    for row, action in ((signed_in, SIGN_IN), (signed_out, SIGN_OUT)):
        assert (row.action, row.outcome, row.actor, row.partner, row.actor_role) == (
            action,
            Outcome.SUCCESS,
            user,
            partner,
            "operator",
        )
        assert row.address == "127.0.0.1" and row.parameters["method"] == "novacron"
    # Found by person on the partner's audit page like any other action.
    assert set(AuditEntry.objects.filter(partner=partner, actor=user).values_list("action", flat=True)) == {
        SIGN_IN,
        SIGN_OUT,
    }


def test_consent_denied_at_sign_in_is_recorded_as_refused_by_novacron(
    client: Client, novacron: FakeNovaCron
) -> None:
    authorization = start_sign_in(client)
    client.get("/accounts/callback/", {"error": "access_denied", "state": authorization.state})

    [row] = rows()
    assert (row.action, row.outcome, row.error_code, row.actor) == (
        SIGN_IN,
        Outcome.REFUSED_BY_NOVACRON,
        "access_denied",
        None,
    )
    assert "consent" in row.reason


def test_a_failed_code_exchange_is_recorded(client: Client, novacron: FakeNovaCron, partner: Any) -> None:
    authorization = start_sign_in(client)
    novacron.answer_token_error("invalid_grant")
    client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    [row] = rows()
    assert (row.action, row.outcome, row.error_code) == (
        SIGN_IN,
        Outcome.REFUSED_BY_NOVACRON,
        "invalid_grant",
    )


def test_a_forged_or_replayed_state_is_recorded_as_refused(client: Client, novacron: FakeNovaCron) -> None:
    client.get("/accounts/callback/", {"code": "c", "state": "forged"})

    [row] = rows()
    assert (row.action, row.outcome, row.error_code) == (SIGN_IN, Outcome.REFUSED_BY_PORTAL, "expired_state")


def test_a_person_of_a_partner_not_set_up_here_is_named_in_the_refusal(
    client: Client, novacron: FakeNovaCron, partner: Any
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(nonce=authorization.nonce, partner_id="partner-initech")
    client.get("/accounts/callback/", {"code": "c", "state": authorization.state})

    [row] = rows()
    assert (row.action, row.outcome, row.error_code, row.partner) == (
        SIGN_IN,
        Outcome.REFUSED_BY_PORTAL,
        "unknown_partner",
        None,
    )
    assert row.actor_label == "admin@acme.example" and "partner-initech" in row.reason


def test_the_admin_password_sign_in_its_failure_and_sign_out(partner: Any) -> None:
    staff = User.objects.create_user(
        "staff@acme.example", "staff@acme.example", PASSWORD, partner=partner, role="admin", is_staff=True
    )
    client = Client()

    client.post("/admin/login/?next=/admin/", {"username": "staff@acme.example", "password": "wrong"})
    client.post("/admin/login/?next=/admin/", {"username": "staff@acme.example", "password": PASSWORD})
    client.post("/admin/logout/")

    failed, signed_in, signed_out = rows()
    assert (failed.action, failed.outcome, failed.error_code, failed.actor_label) == (
        SIGN_IN,
        Outcome.REFUSED_BY_PORTAL,
        "invalid_credentials",
        "staff@acme.example",
    )
    assert PASSWORD not in str(failed.parameters) and "wrong" not in str(failed.parameters)
    assert [(row.action, row.outcome, row.actor, row.partner) for row in (signed_in, signed_out)] == [
        (SIGN_IN, Outcome.SUCCESS, staff, partner),
        (SIGN_OUT, Outcome.SUCCESS, staff, partner),
    ]
    assert signed_in.parameters == {"method": "password"}


def test_disconnect_is_one_row_not_a_second_for_its_sign_out(client_of: Any, owner: Any, grant: Any) -> None:
    grant(owner)
    client = client_of(owner)

    client.post("/accounts/disconnect/")

    assert [row.action for row in rows()] == ["account.disconnect"]


@pytest.mark.urls("accounts.tests.urls")
def test_a_session_novacron_ended_is_recorded_as_a_sign_out(
    client_of: Any, owner: Any, grant: Any, novacron: FakeNovaCron
) -> None:
    grant(owner)
    novacron.answer_token_error("invalid_grant")
    novacron.mock.add(
        responses.GET,
        fake_novacron.API_URL + "/api/v1/partners/partner-acme",
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        json={"error": {"code": "unauthorized", "message": "revoked"}},
    )

    response = client_of(owner).get("/accounts/_probe/novacron/")

    assert response.status_code == 302
    [row] = rows()
    assert (row.action, row.outcome, row.actor, row.parameters["why"]) == (
        SIGN_OUT,
        Outcome.SUCCESS,
        owner,
        "NovaCron session ended",
    )
