"""Integrations CRUD with unique names and http(s) endpoints."""

from __future__ import annotations

import pytest

from sandbox.tests.conftest import PartnerClient

pytestmark = pytest.mark.django_db
BASE = "/api/v1/partners/partner-acme/integrations"
SPEC = {"name": "ServiceNow", "type": "api", "config": {"instance": "acme"},
        "endpoints": [{"name": "incidents", "url": "https://acme.service-now.example/api", "method": "POST",
                       "auth_type": "bearer"}]}  # fmt: skip


def test_it_creates_reads_updates_and_deletes_an_integration(acme_api: PartnerClient) -> None:
    created = acme_api.post(BASE, SPEC)
    assert created.status_code == 201
    body = created.json()
    assert body["integration_id"].startswith("int_") and body["status"] == "active"
    assert body["endpoints"][0]["timeout_seconds"] == 30
    iid = body["integration_id"]
    assert acme_api.get(f"{BASE}/{iid}").json()["name"] == "ServiceNow"
    patched = acme_api.patch(f"{BASE}/{iid}", {"status": "disabled"})
    assert patched.json()["status"] == "disabled" and patched.json()["config"] == {"instance": "acme"}
    assert acme_api.get(BASE).json()["total"] == 1
    assert acme_api.delete(f"{BASE}/{iid}").status_code == 204
    assert acme_api.get(f"{BASE}/{iid}").status_code == 404


def test_names_are_unique_per_partner(acme_api: PartnerClient, globex_api: PartnerClient) -> None:
    assert acme_api.post(BASE, SPEC).status_code == 201
    duplicate = acme_api.post(BASE, SPEC)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "conflict"
    assert globex_api.post("/api/v1/partners/partner-globex/integrations", SPEC).status_code == 201


def test_endpoint_urls_must_be_http(acme_api: PartnerClient) -> None:
    bad = {**SPEC, "endpoints": [{"name": "x", "url": "javascript:alert(1)"}]}
    response = acme_api.post(BASE, bad)
    assert response.status_code == 400
    assert "endpoints.0.url" in response.json()["error"]["details"]["fields"]


def test_another_partners_integrations_are_not_found(globex_api: PartnerClient) -> None:
    assert globex_api.get(BASE).status_code == 404
