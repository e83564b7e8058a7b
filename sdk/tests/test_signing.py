from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st
from novacron import Client, NotFoundError, SDKConfig, __version__
from novacron.signing import sign_request, signed_path
from sdk_support import API, API_KEY, API_SECRET, PARTNER, START, error_body


def independent_hmac(message: str, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def test_it_signs_the_contract_example() -> None:
    assert sign_request("get", "/api/v1/vms", 1767225600, "s3cret") == independent_hmac(
        "GET:/api/v1/vms:1767225600", "s3cret"
    )


@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "get"]),
    path=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1).map(lambda p: "/" + p),
    timestamp=st.integers(min_value=0, max_value=2**40),
    secret=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1),
)
def test_signing_equals_an_independent_hmac_computation(
    method: str, path: str, timestamp: int, secret: str
) -> None:
    signature = sign_request(method, path, timestamp, secret)

    assert signature == independent_hmac(f"{method.upper()}:{path}:{timestamp}", secret)
    assert signature == signature.lower() and len(signature) == 64


def test_every_request_carries_the_partner_headers(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms", json={"data": [], "page": 1, "limit": 50, "total": 0, "has_more": False})

    client.list_vms(status="running")

    headers = api.calls[0].request.headers
    assert headers["X-Partner-ID"] == PARTNER
    assert headers["X-API-Key"] == API_KEY
    assert headers["X-Timestamp"] == str(int(START))
    # The signed path has the base path and no query string.
    assert headers["X-Signature"] == independent_hmac(f"GET:/api/v1/vms:{int(START)}", API_SECRET)
    assert headers["User-Agent"] == f"novacron-partner-sdk/{__version__}"
    assert "Authorization" not in headers


def test_a_base_url_that_already_has_the_base_path_is_not_doubled() -> None:
    config = SDKConfig(base_url="http://novacron.test/api/v1/", partner_id="p", api_key="k", api_secret="s")

    assert config.api_root == "http://novacron.test/api/v1"


# The server verifies the path it routes, which is percent-decoded; the signature covers that form.
ODD_IDS = {
    "vm odd": "vm%20odd",
    "a/b": "a%2Fb",
    "ü": "%C3%BC",
    "100%": "100%25",
    "why?": "why%3F",
    "tag#1": "tag%231",
}


@pytest.mark.parametrize(("vm_id", "on_the_wire"), ODD_IDS.items())
def test_an_id_with_reserved_characters_is_sent_encoded_and_signed_decoded(
    client: Client, api: responses.RequestsMock, vm_id: str, on_the_wire: str
) -> None:
    api.get(f"{API}/vms/{on_the_wire}", json=error_body("not_found"), status=404)

    with pytest.raises(NotFoundError):
        client.get_vm(vm_id)

    request = api.calls[0].request
    assert urlsplit(request.url).path == f"/api/v1/vms/{on_the_wire}"
    assert request.headers["X-Signature"] == independent_hmac(
        f"GET:/api/v1/vms/{vm_id}:{int(START)}", API_SECRET
    )


def test_the_signed_path_is_the_percent_decoded_path() -> None:
    assert signed_path("/api/v1/vms/vm%20odd") == "/api/v1/vms/vm odd"
    assert signed_path("/api/v1/vms/a%2Fb") == "/api/v1/vms/a/b"
    assert signed_path("/api/v1/vms/%C3%BC") == "/api/v1/vms/ü"
    assert signed_path("/api/v1/vms/100%25") == "/api/v1/vms/100%"
    assert signed_path("/api/v1/vms") == "/api/v1/vms"
