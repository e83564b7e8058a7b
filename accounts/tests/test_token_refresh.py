from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import OAuthToken
from accounts.tests import fake_novacron

REPO = Path(__file__).resolve().parents[2]


def expiring(token: OAuthToken, seconds: int = 10) -> OAuthToken:
    token.expires_at = timezone.now() + timedelta(seconds=seconds)
    token.save()
    return token


def assert_refreshed_once(outcome: dict[str, Any]) -> None:
    assert outcome["errors"] == []
    assert outcome["token_calls"] == 1
    assert outcome["results"] == ["new-access-1", "new-access-1"]
    assert (outcome["stored_access"], outcome["stored_refresh"]) == ("new-access-1", "new-refresh-1")


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="in-memory SQLite: the subprocess test below covers SQLite",
)
@pytest.mark.django_db(transaction=True)
def test_two_threads_refreshing_at_once_spend_the_refresh_token_once_on_postgresql() -> None:
    from accounts.tests.refresh_race import race

    assert connection.vendor == "postgresql"
    assert_refreshed_once(race())


def test_two_threads_refreshing_at_once_spend_the_refresh_token_once_on_an_sqlite_file(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "PORTAL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "accounts.tests.refresh_race"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_refreshed_once(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.django_db
def test_a_token_far_from_expiry_is_used_as_is(owner: Any, grant: Any, novacron: Any) -> None:
    grant(owner, expires_in=3600)
    assert services.token_fresh(user=owner).access_token == f"access-{owner.pk}"
    assert novacron.token_requests == []


@pytest.mark.django_db
def test_a_token_near_expiry_is_refreshed_and_stored(owner: Any, grant: Any, novacron: Any) -> None:
    expiring(grant(owner))
    novacron.mock.add(
        responses.POST,
        fake_novacron.TOKEN_URL,
        json={
            "access_token": "fresh",
            "refresh_token": "fresh-refresh",
            "expires_in": 3600,
            "token_type": "Bearer",
            "scope": "openid profile email vm:read",
        },
    )

    token = services.token_fresh(user=owner)

    assert (token.access_token, token.refresh_token) == ("fresh", "fresh-refresh")
    assert token.expires_at > timezone.now() + timedelta(minutes=50)
    assert OAuthToken.objects.get(user=owner).access_token == "fresh"


@pytest.mark.django_db
def test_a_refused_refresh_deletes_the_tokens(owner: Any, grant: Any, novacron: Any) -> None:
    expiring(grant(owner))
    novacron.answer_token_error("invalid_grant")

    with pytest.raises(services.SessionExpired):
        services.token_fresh(user=owner)

    assert not OAuthToken.objects.filter(user=owner).exists()


@pytest.mark.django_db
@pytest.mark.urls("accounts.tests.urls")
def test_a_refused_refresh_signs_the_user_out_cleanly(
    owner: Any, grant: Any, novacron: Any, client_of: Any
) -> None:
    expiring(grant(owner))
    novacron.answer_token_error("invalid_grant")
    client = client_of(owner)

    response = client.get("/accounts/_probe/novacron/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert client.get("/accounts/").status_code == 302  # signed out
    assert not OAuthToken.objects.filter(user=owner).exists()


@pytest.mark.django_db
def test_a_401_mid_call_refreshes_once_and_retries(owner: Any, grant: Any, novacron: Any) -> None:
    grant(owner)
    novacron.mock.add(
        responses.POST,
        fake_novacron.TOKEN_URL,
        json={"access_token": "renewed", "refresh_token": "r2", "expires_in": 3600, "token_type": "Bearer"},
    )
    vm_url = fake_novacron.API_URL + "/api/v1/vms/vm-1"
    novacron.mock.add(
        responses.GET,
        vm_url,
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        json={"error": {"code": "unauthorized", "message": "expired"}},
    )
    novacron.mock.add(responses.GET, vm_url, json={"vm_id": "vm-1", "name": "web-1", "status": "running"})

    vm = services.user_client(user=owner).get_vm("vm-1")

    assert vm.name == "web-1"
    assert novacron.mock.calls[-1].request.headers["Authorization"] == "Bearer renewed"


def signed_in_meanwhile(owner: Any) -> Any:
    """A token endpoint during whose answer the person signs in again (in another request)."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        services.token_store(
            user=owner,
            token={"access_token": "from-sign-in", "refresh_token": "sign-in-refresh", "expires_in": 3600},
            requested_scopes=["openid", "vm:read"],
        )
        return (
            200,
            {},
            json.dumps({"access_token": "late", "refresh_token": "late-refresh", "expires_in": 3600}),
        )

    return answer


@pytest.mark.django_db
def test_a_refresh_that_loses_the_compare_and_swap_uses_the_winners_token(
    owner: Any, grant: Any, novacron: Any
) -> None:
    expiring(grant(owner))
    novacron.mock.add_callback(responses.POST, fake_novacron.TOKEN_URL, callback=signed_in_meanwhile(owner))

    token = services.token_fresh(user=owner)

    assert (token.access_token, token.refresh_token) == ("from-sign-in", "sign-in-refresh")
    stored = OAuthToken.objects.get(user=owner)
    assert (stored.access_token, stored.refresh_token) == ("from-sign-in", "sign-in-refresh")


@pytest.mark.django_db
def test_a_refused_refresh_leaves_tokens_written_meanwhile_in_place(
    owner: Any, grant: Any, novacron: Any
) -> None:
    expiring(grant(owner))
    answer_late = signed_in_meanwhile(owner)

    def refuse(request: Any) -> tuple[int, dict[str, str], str]:
        answer_late(request)
        return 400, {}, json.dumps({"error": "invalid_grant"})

    novacron.mock.add_callback(responses.POST, fake_novacron.TOKEN_URL, callback=refuse)

    assert services.token_fresh(user=owner).access_token == "from-sign-in"
    assert OAuthToken.objects.get(user=owner).access_token == "from-sign-in"


@pytest.mark.django_db
def test_each_write_of_new_tokens_raises_the_version(owner: Any, grant: Any, novacron: Any) -> None:
    before = expiring(grant(owner)).version
    novacron.mock.add(
        responses.POST,
        fake_novacron.TOKEN_URL,
        json={"access_token": "fresh", "refresh_token": "fresh-refresh", "expires_in": 3600},
    )

    refreshed = services.token_fresh(user=owner)
    signed_in = services.token_store(user=owner, token={"access_token": "again"}, requested_scopes=["openid"])

    assert (refreshed.version, signed_in.version) == (before + 1, before + 2)
