from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
import responses

from partners.clients import partner_client
from partners.models import Partner

pytestmark = pytest.mark.django_db

API = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _api(settings: Any) -> None:
    settings.NOVACRON_API_URL = API


@responses.activate
def test_the_partner_client_signs_with_the_partners_hmac_credentials(partner: Partner) -> None:
    call = responses.add(
        responses.GET,
        f"{API}/api/v1/partners/partner-acme",
        json={"partner_id": "partner-acme", "name": "Acme Corp", "tier": "gold"},
    )

    assert partner_client(partner).get_partner().name == "Acme Corp"

    headers = call.calls[0].request.headers
    assert (headers["X-Partner-ID"], headers["X-API-Key"]) == ("partner-acme", "nck_acme_test")
    message = f"GET:/api/v1/partners/partner-acme:{headers['X-Timestamp']}".encode()
    assert headers["X-Signature"] == hmac.new(b"acme-test-secret", message, hashlib.sha256).hexdigest()


@responses.activate
def test_the_partner_client_records_the_last_rate_limit_headers(partner: Partner) -> None:
    responses.add(
        responses.GET,
        f"{API}/api/v1/clusters",
        json={"data": []},
        headers={
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "997",
            "X-RateLimit-Reset": "1767225600",
        },
    )

    partner_client(partner).list_clusters()

    partner.refresh_from_db()
    assert (partner.rate_limit_limit, partner.rate_limit_remaining) == (1000, 997)
    assert partner.rate_limit_reset.timestamp() == 1767225600


def test_a_partner_without_credentials_has_no_client(partner: Partner) -> None:
    partner.api_key = ""
    with pytest.raises(ValueError, match="no API credentials"):
        partner_client(partner)
