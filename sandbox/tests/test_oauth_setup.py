"""The commands around the authorization server: registering a client, seeding the demo users."""

from __future__ import annotations

import json

import pytest
from oauth2_provider.models import Application

from sandbox.identity.cli import register_client
from sandbox.identity.models import User
from sandbox.identity.seed import seed_users

pytestmark = pytest.mark.django_db


def run_register(capsys, *argv: str) -> dict:
    assert register_client([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_register_client_creates_a_confidential_pkce_client(capsys, fast_hashing):
    printed = run_register(
        capsys,
        "--redirect-uri",
        "http://127.0.0.1:8000/accounts/callback/",
        "--redirect-uri",
        "http://localhost:8000/accounts/callback/",
        "--base-url",
        "http://127.0.0.1:9001",
    )
    application = Application.objects.get(client_id=printed["client_id"])
    assert application.name == "NovaCron Partner Portal"
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert application.algorithm == Application.RS256_ALGORITHM
    assert application.redirect_uris.split() == [
        "http://127.0.0.1:8000/accounts/callback/",
        "http://localhost:8000/accounts/callback/",
    ]
    assert printed["issuer"] == "http://127.0.0.1:9001/oauth"
    assert printed["client_secret"] != application.client_secret  # stored hashed


def test_registering_again_keeps_the_client_id_and_issues_a_new_secret(capsys, fast_hashing):
    first = run_register(capsys, "--redirect-uri", "http://127.0.0.1:8000/cb/")
    second = run_register(capsys, "--redirect-uri", "http://127.0.0.1:8001/cb/")
    assert second["client_id"] == first["client_id"]
    assert second["client_secret"] != first["client_secret"]
    assert Application.objects.count() == 1
    assert Application.objects.get().redirect_uris == "http://127.0.0.1:8001/cb/"


def test_register_client_rejects_a_redirect_uri_that_is_not_a_url(capsys):
    with pytest.raises(SystemExit):
        register_client(["--redirect-uri", "not a url"])
    assert not Application.objects.exists()


def test_seed_users_creates_three_roles_per_partner_and_a_staff_account(oauth_partners, fast_hashing):
    rows = seed_users(oauth_partners)
    assert {(row["email"], row["partner"], row["role"]) for row in rows} >= {
        ("admin@acme.example", "partner-acme", "admin"),
        ("operator@acme.example", "partner-acme", "operator"),
        ("viewer@globex.example", "partner-globex", "viewer"),
        ("staff@novacron.example", None, "staff"),
    }
    assert all(row["password"] == "novacron" for row in rows)
    assert User.objects.get(email="viewer@acme.example").check_password("novacron")
    staff = User.objects.get(email="staff@novacron.example")
    assert staff.is_superuser and staff.partner is None


def test_seeding_twice_changes_nothing(oauth_partners, fast_hashing):
    first = seed_users(oauth_partners)
    assert seed_users(oauth_partners) == first
    assert User.objects.count() == len(first) == 7
