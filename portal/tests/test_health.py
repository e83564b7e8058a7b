from __future__ import annotations

import runpy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from django.core.cache import cache
from django.utils import timezone

from portal import health, tasks
from vms.models import SyncRun

pytestmark = pytest.mark.django_db

API_URL = "http://127.0.0.1:8901"
PING = API_URL + "/api/v1/ping"


@pytest.fixture
def novacron(settings: Any) -> Iterator[responses.RequestsMock]:
    settings.NOVACRON_API_URL = API_URL
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def novacron_down(novacron: responses.RequestsMock) -> responses.RequestsMock:
    novacron.add(responses.GET, PING, body=requests.ConnectionError("refused"))
    return novacron


def _fails(error: Exception) -> Any:
    def check() -> str:
        raise error

    return check


def test_live_answers_without_checking_any_dependency(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(health.READINESS_CHECKS, "database", _fails(ConnectionError("no database")))

    response = client.get("/healthz/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_the_database_and_broker_answer_even_with_novacron_down(
    client: Any, novacron_down: responses.RequestsMock
) -> None:
    response = client.get("/healthz/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_ready_is_503_naming_the_database_when_it_does_not_answer(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(health.READINESS_CHECKS, "database", _fails(ConnectionError("no database")))

    response = client.get("/healthz/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {"database": "error: ConnectionError", "broker": "ok"},
    }


def test_ready_is_503_naming_the_broker_when_it_is_down(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(health.READINESS_CHECKS, "broker", _fails(ConnectionRefusedError("no broker")))

    response = client.get("/healthz/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error: ConnectionRefusedError"


def test_the_old_healthz_path_is_readiness(client: Any, novacron_down: responses.RequestsMock) -> None:
    assert client.get("/healthz").json() == client.get("/healthz/ready").json()


def test_status_reports_novacron_unreachable_and_still_answers_200(
    client: Any, novacron_down: responses.RequestsMock
) -> None:
    response = client.get("/healthz/status")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "novacron": "error: ConnectionError",
    }


def test_status_reports_a_novacron_server_error(client: Any, novacron: responses.RequestsMock) -> None:
    novacron.add(responses.GET, PING, status=503)

    response = client.get("/healthz/status")

    assert response.status_code == 200
    assert response.json()["checks"]["novacron"] == "error: HTTP 503"


def test_status_is_503_when_the_database_is_down(client: Any, novacron: Any, monkeypatch: Any) -> None:
    novacron.add(responses.GET, PING, json={"status": "ok"})
    monkeypatch.setitem(health.READINESS_CHECKS, "database", _fails(ConnectionError("no database")))

    assert client.get("/healthz/status").status_code == 503


def test_status_counts_stale_and_never_synced_partners_without_naming_them(
    client: Any, novacron: responses.RequestsMock, partner: Any, other_partner: Any
) -> None:
    novacron.add(responses.GET, PING, json={"status": "ok"})
    finished = timezone.now() - timedelta(minutes=10)
    SyncRun.objects.create(
        partner=partner,
        kind=SyncRun.Kind.VMS_FULL,
        status=SyncRun.Status.SUCCEEDED,
        started_at=finished - timedelta(seconds=20),
        finished_at=finished,
    )

    response = client.get("/healthz/status")

    sync = response.json()["sync"]
    assert (sync["partners"], sync["never_synced"], sync["stale"]) == (2, 1, 2)
    assert 590 < sync["oldest_success_age_seconds"] < 660
    for secret in (partner.partner_id, partner.name, other_partner.partner_id, other_partner.name):
        assert secret not in response.content.decode()


def test_status_shows_when_beat_and_a_worker_last_showed_signs_of_life(
    client: Any, novacron: responses.RequestsMock
) -> None:
    novacron.add(responses.GET, PING, json={"status": "ok"})
    cache.delete_many(["portal:heartbeat:worker", "portal:heartbeat:beat"])
    before = client.get("/healthz/status").json()["heartbeats"]

    tasks.heartbeat()

    after = client.get("/healthz/status").json()["heartbeats"]
    assert before["worker_age_seconds"] is None and before["beat_age_seconds"] is None
    assert after["worker_age_seconds"] is not None and after["worker_age_seconds"] < 5
    assert after["beat_age_seconds"] is None  # only beat's publishing of the task counts for beat


def test_publishing_the_heartbeat_task_records_beat_as_alive(
    client: Any, novacron: Any, settings: Any
) -> None:
    from portal.celery import app

    novacron.add(responses.GET, PING, json={"status": "ok"})
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The in-memory broker: the message is published (what beat does) and nobody consumes it.
    with app.connection_for_write("memory://") as connection:
        tasks.heartbeat.apply_async(connection=connection)

    assert client.get("/healthz/status").json()["heartbeats"]["beat_age_seconds"] < 5


def test_the_heartbeat_is_a_beat_task_that_expires_with_its_interval(settings: Any) -> None:
    from portal import celery as portal_celery

    entry = settings.CELERY_BEAT_SCHEDULE["portal-heartbeat"]
    assert entry["task"] in portal_celery.app.tasks
    assert entry["options"]["expires"] == entry["schedule"]


def _production_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    monkeypatch.setenv("DJANGO_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ=")
    monkeypatch.setenv("PORTAL_ENV_FILE", "/dev/null")
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    return runpy.run_path(str(Path(health.__file__).with_name("settings.py")))


def test_health_paths_are_not_redirected_to_https_in_production(
    client: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production = _production_settings(monkeypatch, tmp_path)
    assert production["SECURE_SSL_REDIRECT"] is True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = production["SECURE_REDIRECT_EXEMPT"]

    for path in ("/healthz", "/healthz/live", "/healthz/ready"):
        assert client.get(path).status_code == 200, path
    redirected = client.get("/accounts/login/")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
