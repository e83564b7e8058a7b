"""Fault injection: off by default, switched on through /sandbox/faults or the setting."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from sandbox.tests.conftest import PartnerClient

pytestmark = pytest.mark.django_db


def _set(config: dict[str, object]) -> int:
    return Client().put("/sandbox/faults", json.dumps(config), content_type="application/json").status_code


def test_no_faults_by_default(acme_api: PartnerClient) -> None:
    assert Client().get("/sandbox/faults").json() == {"faults": {}}
    assert acme_api.get("/api/v1/vms").status_code == 200


def test_an_error_rate_on_a_path_prefix(acme_api: PartnerClient) -> None:
    assert _set({"error_rates": {"/api/v1/vms": 1.0}}) == 200
    failed = acme_api.get("/api/v1/vms")
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "unavailable"
    assert acme_api.get("/api/v1/clusters").status_code == 200


def test_a_rate_limit_storm(acme_api: PartnerClient) -> None:
    _set({"rate_limit_storm": True})
    storm = acme_api.get("/api/v1/clusters")
    assert storm.status_code == 429 and storm["Retry-After"] == "1"
    Client().delete("/sandbox/faults")
    assert acme_api.get("/api/v1/clusters").status_code == 200


def test_faults_from_the_setting(acme_api: PartnerClient, settings: object) -> None:
    settings.SANDBOX_FAULTS = {"error_rates": {"/api/v1/": 1.0}}
    assert acme_api.get("/api/v1/clusters").status_code == 503


def test_it_refuses_unknown_faults() -> None:
    assert _set({"meteor_strike": True}) == 400
