"""The OpenAPI document offers both ways in: partner HMAC headers or an OAuth 2.0 bearer token."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.identity.scopes import API_SCOPES

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations_of(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_the_document_declares_the_hmac_and_the_oauth_schemes(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["PartnerAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    flow = schemes["OAuth2"]["flows"]["authorizationCode"]
    assert schemes["OAuth2"]["type"] == "oauth2"
    assert flow["authorizationUrl"] == "/oauth/authorize/"
    assert flow["tokenUrl"] == "/oauth/token/"
    assert set(flow["scopes"]) == set(API_SCOPES)


def test_every_protected_operation_accepts_either_scheme_with_its_scope(document):
    protected = [(path, method, op) for path, method, op in operations_of(document) if "security" in op]
    assert len(protected) > 10
    for path, method, operation in protected:
        assert operation["security"][0] == {"PartnerAuth": []}, (method, path)
        (oauth,) = operation["security"][1:]
        assert list(oauth) == ["OAuth2"], (method, path)
        assert len(oauth["OAuth2"]) == 1 and oauth["OAuth2"][0] in API_SCOPES, (method, path)


def test_each_operation_names_the_scope_it_enforces(document):
    security = {(path, method): op.get("security") for path, method, op in operations_of(document)}
    assert security[("/api/v1/vms", "get")][1] == {"OAuth2": ["vm:read"]}
    assert security[("/api/v1/vms", "post")][1] == {"OAuth2": ["vm:write"]}
    assert security[("/api/v1/migrations", "post")][1] == {"OAuth2": ["migration:execute"]}
    assert security[("/api/v1/ping", "get")] is None
