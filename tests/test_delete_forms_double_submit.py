"""Delete forms that end in a DELETE at NovaCron carry the portal's own form key: NovaCron takes no
Idempotency-Key on a DELETE, so the second of a double click, arriving once the first is done, is sent
where the first went instead of asking NovaCron again and ending on a 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses

from tests.factories import form_key
from tests.partner_api import PARTNER_API, admin_client, api, integration_json, page, subscription_json

__all__ = ["admin_client", "api"]
pytestmark = pytest.mark.django_db


def _deletes(api: responses.RequestsMock) -> int:
    return sum(1 for call in api.calls if call.request.method == "DELETE")


@pytest.mark.parametrize(
    ("url", "answers", "landing"),
    [
        (
            "/partner/integrations/int-1/delete/",
            lambda api: (
                api.get(f"{PARTNER_API}/integrations/int-1", json=integration_json()),
                api.delete(f"{PARTNER_API}/integrations/int-1", status=204),
            ),
            "/partner/integrations/",
        ),
        (
            "/partner/webhooks/whs-1/delete/",
            lambda api: (
                api.get(f"{PARTNER_API}/webhooks", json=page([subscription_json()])),
                api.delete(f"{PARTNER_API}/webhooks/whs-1", status=204),
            ),
            "/partner/webhooks/",
        ),
    ],
)
def test_a_double_click_on_delete_deletes_once_and_both_land_on_the_list(
    api: responses.RequestsMock, admin_client: Any, url: str, answers: Any, landing: str
) -> None:
    answers(api)
    confirm = admin_client.get(url)
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', confirm.text), "the form carries a key"
    key = form_key()

    first = admin_client.post(url, key)
    second = admin_client.post(url, key)

    assert (first.status_code, first["Location"]) == (302, landing)
    assert (second.status_code, second["Location"]) == (302, landing)
    assert _deletes(api) == 1


def test_another_form_key_is_another_request(api: responses.RequestsMock, admin_client: Any) -> None:
    api.get(f"{PARTNER_API}/integrations/int-1", json=integration_json())
    api.delete(f"{PARTNER_API}/integrations/int-1", status=204)

    admin_client.post("/partner/integrations/int-1/delete/", form_key())
    admin_client.post("/partner/integrations/int-1/delete/", form_key())

    assert _deletes(api) == 2
