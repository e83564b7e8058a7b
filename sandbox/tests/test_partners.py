"""Partner, quotas, quota checks, error envelope details, ping and health."""

from __future__ import annotations

import pytest
from django.test import Client

from sandbox.core.models import Cluster, Partner
from sandbox.tests.conftest import PartnerClient, make_vm

pytestmark = pytest.mark.django_db


def test_it_describes_the_partner(acme_api: PartnerClient) -> None:
    body = acme_api.get("/api/v1/partners/partner-acme").json()
    assert body["quota_limits"] == {
        "api_calls_per_minute": 1000,
        "vm_create_per_day": 500,
        "migration_concurrent": 10,
    }
    assert body["created_at"].endswith("Z")


def test_quotas_report_real_usage(acme_api: PartnerClient, acme: Partner, clusters: list[Cluster]) -> None:
    make_vm(acme, clusters[0], age_days=0)
    quotas = {q["name"]: q for q in acme_api.get("/api/v1/partners/partner-acme/quotas").json()["data"]}
    assert quotas["vm_create_per_day"]["used"] == 1
    assert quotas["vm_create_per_day"]["reset_at"].endswith("T00:00:00.000Z")
    assert quotas["migration_concurrent"]["reset_at"] is None
    assert quotas["api_calls_per_minute"]["used"] == 1  # this very call


def test_quota_check_understands_aliases(acme_api: PartnerClient) -> None:
    check = acme_api.post(
        "/api/v1/partners/partner-acme/quotas/check", {"resource": "migration", "amount": 11}
    )
    assert check.json() == {
        "allowed": False,
        "quota": "migration_concurrent",
        "limit": 10,
        "used": 0,
        "remaining": 10,
    }
    unknown = acme_api.post("/api/v1/partners/partner-acme/quotas/check", {"resource": "gpus", "amount": 1})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"]["fields"] == {"resource": ["unknown resource 'gpus'"]}


def test_a_validation_error_names_the_fields(acme_api: PartnerClient) -> None:
    response = acme_api.post("/api/v1/partners/partner-acme/quotas/check", {"amount": "many"})
    fields = response.json()["error"]["details"]["fields"]
    assert response.status_code == 400 and set(fields) == {"resource", "amount"}


def test_unknown_paths_answer_with_the_envelope() -> None:
    response = Client().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_a_callers_sane_request_id_is_adopted_and_any_other_replaced() -> None:
    adopted = Client().get("/api/v1/nothing-here", HTTP_X_REQUEST_ID="portal-4f2a.9_b")
    assert adopted["X-Request-ID"] == "portal-4f2a.9_b" and adopted.json()["request_id"] == "portal-4f2a.9_b"
    for unsafe in ("two words", "x" * 65, "line\nbreak"):
        replaced = Client().get("/api/v1/nothing-here", HTTP_X_REQUEST_ID=unsafe)
        assert replaced["X-Request-ID"].startswith("req_")


def test_ping_and_health_need_no_credentials() -> None:
    assert Client().get("/api/v1/ping").json()["ok"] is True
    assert Client().get("/healthz").json() == {"status": "ok"}


def test_the_openapi_document_lists_every_contract_path() -> None:
    paths = set(Client().get("/api/v1/openapi.json").json()["paths"])
    assert {
        "/api/v1/partners/{partner_id}",
        "/api/v1/partners/{partner_id}/quotas",
        "/api/v1/partners/{partner_id}/quotas/check",
        "/api/v1/vms",
        "/api/v1/vms/{vm_id}",
        "/api/v1/vms/{vm_id}/start",
        "/api/v1/vms/{vm_id}/stop",
        "/api/v1/clusters",
        "/api/v1/migrations",
        "/api/v1/migrations/{migration_id}",
        "/api/v1/migrations/{migration_id}/cancel",
        "/api/v1/metrics",
        "/api/v1/partners/{partner_id}/integrations",
        "/api/v1/partners/{partner_id}/integrations/{integration_id}",
        "/api/v1/partners/{partner_id}/webhooks",
        "/api/v1/partners/{partner_id}/webhooks/{subscription_id}",
        "/api/v1/partners/{partner_id}/webhooks/{subscription_id}/test",
        "/api/v1/partners/{partner_id}/webhooks/{subscription_id}/deliveries",
        "/api/v1/partners/{partner_id}/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    } <= paths


def test_an_oversized_body_is_refused(acme_api: PartnerClient) -> None:
    huge = {"name": "x", "value": 1, "tags": {"blob": "x" * 3_000_000}}
    response = acme_api.post("/api/v1/metrics", huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
