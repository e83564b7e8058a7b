from __future__ import annotations

import json

import novacron
import pytest
import requests
import responses
from novacron import (
    APIConnectionError,
    APITimeoutError,
    Client,
    ConflictError,
    ForbiddenError,
    InsufficientScopeError,
    NotFoundError,
    NovaCronError,
    PayloadTooLargeError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    UnauthorizedError,
    ValidationError,
    error_from_response,
)
from sdk_support import API, PARTNER, error_body, rate_headers


def make_response(
    status: int, body: object = None, headers: dict[str, str] | None = None, text: str | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    if text is not None:
        response._content = text.encode()
    else:
        response._content = json.dumps(body).encode()
    return response


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "validation_error", ValidationError),
        (401, "unauthorized", UnauthorizedError),
        (403, "forbidden", ForbiddenError),
        (403, "insufficient_scope", InsufficientScopeError),
        (403, "quota_exceeded", QuotaExceededError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (413, "payload_too_large", PayloadTooLargeError),
        (429, "rate_limited", RateLimitError),
        (500, "internal_error", ServerError),
        (503, "unavailable", ServerError),
    ],
)
def test_each_status_and_code_maps_to_its_error_class(status: int, code: str, expected: type) -> None:
    error = error_from_response(
        make_response(status, error_body(code, "went wrong"), {"X-Request-ID": "req_9"})
    )

    assert type(error) is expected
    assert isinstance(error, NovaCronError)
    assert (error.status, error.code, error.message) == (status, code, "went wrong")
    assert error.request_id == "req_err"  # the envelope's id wins over the header
    assert "went wrong" in str(error)


def test_a_body_that_is_not_an_envelope_still_maps_by_status() -> None:
    error = error_from_response(
        make_response(502, headers={"X-Request-ID": "req_7"}, text="<h1>Bad gateway</h1>")
    )

    assert type(error) is ServerError
    assert error.request_id == "req_7"
    assert "Bad gateway" in error.message


def test_an_unlisted_client_error_is_the_base_class() -> None:
    error = error_from_response(make_response(418, error_body("teapot")))

    assert type(error) is NovaCronError


def test_validation_errors_carry_field_messages() -> None:
    error = error_from_response(
        make_response(400, error_body("validation_error", fields={"cpu_cores": ["must be <= 128"]}))
    )

    assert isinstance(error, ValidationError)
    assert error.fields == {"cpu_cores": ["must be <= 128"]}


def test_insufficient_scope_names_the_scope_from_details_or_header() -> None:
    from_details = error_from_response(make_response(403, error_body("insufficient_scope", scope="vm:write")))
    from_header = error_from_response(
        make_response(
            403,
            error_body("insufficient_scope"),
            {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="migration:execute"'},
        )
    )

    assert isinstance(from_details, InsufficientScopeError) and from_details.scope == "vm:write"
    assert isinstance(from_header, InsufficientScopeError) and from_header.scope == "migration:execute"


def test_quota_exceeded_carries_quota_limit_and_usage() -> None:
    error = error_from_response(
        make_response(
            403,
            error_body(
                "quota_exceeded",
                quota="vm_create_per_day",
                limit=1000,
                used=1000,
                requested=1,
                reset_at="2026-01-02T00:00:00Z",
            ),
        )
    )

    assert isinstance(error, QuotaExceededError)
    assert (error.quota, error.limit, error.used, error.requested) == ("vm_create_per_day", 1000, 1000, 1)


def test_rate_limit_error_reads_retry_after_from_the_header_then_the_details() -> None:
    with_header = error_from_response(
        make_response(429, error_body("rate_limited", retry_after=9), {"Retry-After": "3"})
    )
    details_only = error_from_response(make_response(429, error_body("rate_limited", retry_after=9)))

    assert isinstance(with_header, RateLimitError) and with_header.retry_after == 3.0
    assert isinstance(details_only, RateLimitError) and details_only.retry_after == 9.0


def test_error_headers_are_case_insensitive() -> None:
    error = error_from_response(make_response(404, error_body("not_found"), {"x-request-id": "req_1"}))

    assert error.headers["X-Request-ID"] == "req_1"


def test_a_client_call_raises_the_mapped_error(client: Client, api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/vms/vm-404", status=404, json=error_body("not_found", "VM not found"), headers=rate_headers()
    )

    with pytest.raises(NotFoundError) as caught:
        client.get_vm("vm-404")

    assert caught.value.status == 404
    assert caught.value.message == "VM not found"


def test_conflict_is_raised_when_deleting_a_migrating_vm(client: Client, api: responses.RequestsMock) -> None:
    api.delete(f"{API}/vms/vm-1", status=409, json=error_body("conflict", "VM is migrating"))

    with pytest.raises(ConflictError):
        client.delete_vm("vm-1")


def test_a_refused_connection_is_an_api_connection_error(client: Client, api: responses.RequestsMock) -> None:
    for _ in range(4):
        api.get(f"{API}/partners/{PARTNER}", body=requests.ConnectionError("refused"))

    with pytest.raises(APIConnectionError) as caught:
        client.get_partner()

    assert not isinstance(caught.value, APITimeoutError)


def test_a_timeout_is_an_api_timeout_error(client: Client, api: responses.RequestsMock) -> None:
    for _ in range(4):
        api.get(f"{API}/partners/{PARTNER}", body=requests.ReadTimeout("slow"))

    with pytest.raises(APITimeoutError):
        client.get_partner()


def test_every_error_class_is_exported_from_the_package() -> None:
    for name in (
        "NovaCronError",
        "NotFoundError",
        "UnauthorizedError",
        "ForbiddenError",
        "InsufficientScopeError",
        "QuotaExceededError",
        "ConflictError",
        "ValidationError",
        "RateLimitError",
        "ServerError",
        "APIConnectionError",
        "APITimeoutError",
        "SignatureVerificationError",
        "error_from_response",
    ):
        assert getattr(novacron, name) is getattr(novacron.errors, name)
