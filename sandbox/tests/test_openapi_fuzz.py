"""Schemathesis over /api/v1/openapi.json, signed as a real partner: no 5xx, 2xx bodies match the schema."""

from __future__ import annotations

import time

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from sandbox.api.auth import sign
from sandbox.core.models import Cluster, Partner
from sandbox.tests.conftest import make_vm

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def fleet(acme: Partner, clusters: list[Cluster]) -> Partner:
    for index in range(3):
        make_vm(acme, clusters[index], name=f"fuzz-{index}", vm_id=f"vm-fuzz{index}")
    return acme


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_survives_generated_requests(case: schemathesis.Case, fleet: Partner) -> None:
    if "partner_id" in (case.path_parameters or {}):
        case.path_parameters["partner_id"] = fleet.partner_id
    credential = fleet.credentials.get()
    timestamp = str(int(time.time()))
    headers = {
        "X-Partner-ID": fleet.partner_id, "X-API-Key": credential.api_key, "X-Timestamp": timestamp,
        "X-Signature": sign(credential.api_secret, case.method, case.formatted_path, timestamp),
    }  # fmt: skip
    case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])
