from __future__ import annotations

from typing import Any

import pytest
import requests
import responses

from accounts.tests import fake_novacron

pytestmark = pytest.mark.django_db

PING = fake_novacron.API_URL + "/api/v1/ping"


def test_healthz_is_200_when_database_broker_and_novacron_answer(client: Any, novacron: Any) -> None:
    novacron.mock.add(responses.GET, PING, json={"status": "ok"})
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "novacron": "ok"}}


def test_healthz_is_503_when_novacron_is_unreachable(client: Any, novacron: Any) -> None:
    novacron.mock.add(responses.GET, PING, body=requests.ConnectionError("refused"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["novacron"] == "error: ConnectionError"
    assert response.json()["checks"]["database"] == "ok"


def test_healthz_is_503_when_novacron_fails(client: Any, novacron: Any) -> None:
    novacron.mock.add(responses.GET, PING, status=503)
    assert client.get("/healthz").status_code == 503


def test_healthz_is_503_when_the_broker_is_down(client: Any, novacron: Any, monkeypatch: Any) -> None:
    from portal import views

    def broker_down() -> str:
        raise ConnectionRefusedError("no broker")

    monkeypatch.setitem(views.CHECKS, "broker", broker_down)
    novacron.mock.add(responses.GET, PING, json={})
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error: ConnectionRefusedError"
