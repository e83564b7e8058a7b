from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses

from tests.factories import form_key
from tests.partner_api import PARTNER_API, error_json, integration_json, page

LIST_URL = "/partner/integrations/"
NEW_URL = "/partner/integrations/new/"


def endpoint_rows(*rows: dict[str, Any], extra: int = 0) -> dict[str, Any]:
    """POST data for the endpoints formset: the given rows plus `extra` blank ones."""
    data: dict[str, Any] = {
        "endpoints-TOTAL_FORMS": str(len(rows) + extra),
        "endpoints-INITIAL_FORMS": "0",
        "endpoints-MIN_NUM_FORMS": "0",
        "endpoints-MAX_NUM_FORMS": "50",
    }
    # A blank row as a browser sends it: the selects and the timeout keep their defaults.
    blank = {"name": "", "url": "", "method": "POST", "auth_type": "none", "timeout_seconds": "30"}
    for index, row in enumerate([*rows, *[blank] * extra]):
        for key, value in row.items():
            data[f"endpoints-{index}-{key}"] = value
    return data


BACKUP_ENDPOINT = {
    "name": "backup",
    "url": "https://backup.acme.example/hook",
    "method": "POST",
    "auth_type": "bearer",
    "timeout_seconds": "45",
}


def test_it_lists_the_partners_integrations(api: responses.RequestsMock, admin_client: Any) -> None:
    api.get(f"{PARTNER_API}/integrations", json=page([integration_json()]))

    response = admin_client.get(LIST_URL)

    assert response.status_code == 200
    assert "VM Backup Integration" in response.text
    assert "https://backup.acme.example/webhook" in response.text
    assert api.calls[0].request.headers["Authorization"].startswith("Bearer ")


def test_it_creates_an_integration_with_an_endpoint(api: responses.RequestsMock, admin_client: Any) -> None:
    api.post(f"{PARTNER_API}/integrations", json=integration_json(), status=201)
    data = {
        "name": "Backups",
        "type": "api",
        "status": "active",
        "config": '{"retention_days": 30}',
        **endpoint_rows(BACKUP_ENDPOINT, extra=1),
    }

    response = admin_client.post(NEW_URL, {**data, **form_key()})

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    sent = json.loads(api.calls[0].request.body)
    assert sent == {
        "name": "Backups",
        "type": "api",
        "status": "active",
        "config": {"retention_days": 30},
        "endpoints": [
            {
                "name": "backup",
                "url": "https://backup.acme.example/hook",
                "method": "POST",
                "auth_type": "bearer",
                "timeout_seconds": 45,
            }
        ],
    }


def test_the_new_page_carries_the_empty_endpoint_row_for_add_endpoint(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    response = admin_client.get(NEW_URL)

    assert response.status_code == 200
    html = response.text
    assert '<template id="endpoints-empty-form">' in html
    template = html[html.index('<template id="endpoints-empty-form">') : html.index("</template>")]
    assert 'name="endpoints-__prefix__-name"' in template
    assert 'name="endpoints-__prefix__-url"' in template
    assert 'name="endpoints-TOTAL_FORMS" value="2" id="id_endpoints-TOTAL_FORMS"' in html
    assert 'name="endpoints-MAX_NUM_FORMS"' in html
    assert 'data-formset-add="endpoints" hidden' in html
    assert "js/formset.js" in html
    assert len(api.calls) == 0


def test_it_creates_an_integration_with_three_endpoint_rows(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.post(f"{PARTNER_API}/integrations", json=integration_json(), status=201)
    rows = [
        {**BACKUP_ENDPOINT, "name": f"backup-{n}", "url": f"https://backup.acme.example/hook/{n}"}
        for n in range(3)
    ]
    data = {"name": "Backups", "type": "api", "status": "active", "config": "", **endpoint_rows(*rows)}

    response = admin_client.post(NEW_URL, {**data, **form_key()})

    assert response.status_code == 302
    sent = json.loads(api.calls[0].request.body)
    assert [endpoint["name"] for endpoint in sent["endpoints"]] == ["backup-0", "backup-1", "backup-2"]


@pytest.mark.parametrize(
    ("config", "message"),
    [("[1, 2]", "must be a JSON object"), ("{not json", "Not valid JSON")],
)
def test_it_refuses_a_configuration_that_is_not_a_json_object_without_calling_novacron(
    api: responses.RequestsMock, admin_client: Any, config: str, message: str
) -> None:
    response = admin_client.post(
        NEW_URL,
        {**form_key(), "name": "x", "type": "api", "status": "active", "config": config, **endpoint_rows()},
    )

    assert response.status_code == 400
    assert message in response.text
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "ftp://backup.acme.example", "http:// or https://"),
        ("timeout_seconds", "121", "less than or equal to 120"),
        ("timeout_seconds", "0", "greater than or equal to 1"),
    ],
)
def test_it_validates_endpoint_rows_before_calling_novacron(
    api: responses.RequestsMock, admin_client: Any, field: str, value: str, message: str
) -> None:
    row = {**BACKUP_ENDPOINT, field: value}

    response = admin_client.post(
        NEW_URL,
        {**form_key(), "name": "x", "type": "api", "status": "active", "config": "", **endpoint_rows(row)},
    )

    assert response.status_code == 400
    assert message in response.text
    assert len(api.calls) == 0


def test_it_puts_novacrons_field_errors_on_the_endpoint_row_they_name(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.post(
        f"{PARTNER_API}/integrations",
        status=400,
        json=error_json(
            "validation_error",
            "endpoints.1.url: host not allowed",
            {"fields": {"endpoints.1.url": ["host not allowed"], "name": ["too plain"]}},
        ),
    )
    second = {**BACKUP_ENDPOINT, "name": "second", "url": "https://internal.example/hook"}
    data = {
        "name": "Backups",
        "type": "api",
        "status": "active",
        "config": "",
        **endpoint_rows(BACKUP_ENDPOINT, second),
    }

    response = admin_client.post(NEW_URL, {**data, **form_key()})

    assert response.status_code == 400
    endpoints = response.context["endpoints"]
    assert endpoints.forms[1].errors["url"] == ["host not allowed"]
    assert not endpoints.forms[0].errors
    assert response.context["form"].errors["name"] == ["too plain"]


def test_a_duplicate_name_is_shown_on_the_name_field(api: responses.RequestsMock, admin_client: Any) -> None:
    api.post(
        f"{PARTNER_API}/integrations",
        status=409,
        json=error_json("conflict", "An integration named Backups already exists."),
    )

    response = admin_client.post(
        NEW_URL,
        {**form_key(), "name": "Backups", "type": "api", "status": "active", "config": "", **endpoint_rows()},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["An integration named Backups already exists."]


def test_the_edit_page_is_filled_from_novacron_and_saves_with_a_patch(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/integrations/int-1", json=integration_json())
    api.patch(f"{PARTNER_API}/integrations/int-1", json=integration_json(name="Renamed"))

    form_page = admin_client.get("/partner/integrations/int-1/edit/")
    assert form_page.status_code == 200
    assert 'value="VM Backup Integration"' in form_page.text
    assert "https://backup.acme.example/webhook" in form_page.text

    data = {
        "name": "Renamed",
        "type": "api",
        "status": "disabled",
        "config": '{"retention_days": 7}',
        "endpoints-TOTAL_FORMS": "2",
        "endpoints-INITIAL_FORMS": "1",
        "endpoints-MIN_NUM_FORMS": "0",
        "endpoints-MAX_NUM_FORMS": "50",
        # The stored endpoint, untouched: it is sent again.
        "endpoints-0-name": "backup-webhook",
        "endpoints-0-url": "https://backup.acme.example/webhook",
        "endpoints-0-method": "POST",
        "endpoints-0-auth_type": "bearer",
        "endpoints-0-timeout_seconds": "30",
    }
    response = admin_client.post("/partner/integrations/int-1/edit/", data)

    assert response.status_code == 302
    patch = json.loads(api.calls[-1].request.body)
    assert api.calls[-1].request.method == "PATCH"
    assert patch["name"] == "Renamed"
    assert patch["status"] == "disabled"
    assert patch["config"] == {"retention_days": 7}
    assert [e["name"] for e in patch["endpoints"]] == ["backup-webhook"]


def test_removing_an_endpoint_row_drops_it_from_the_update(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/integrations/int-1", json=integration_json())
    api.patch(f"{PARTNER_API}/integrations/int-1", json=integration_json(endpoints=[]))
    data = {
        "name": "VM Backup Integration",
        "type": "api",
        "status": "active",
        "config": "{}",
        "endpoints-TOTAL_FORMS": "1",
        "endpoints-INITIAL_FORMS": "1",
        "endpoints-MIN_NUM_FORMS": "0",
        "endpoints-MAX_NUM_FORMS": "50",
        "endpoints-0-name": "backup-webhook",
        "endpoints-0-url": "https://backup.acme.example/webhook",
        "endpoints-0-method": "POST",
        "endpoints-0-auth_type": "bearer",
        "endpoints-0-timeout_seconds": "30",
        "endpoints-0-DELETE": "on",
    }

    response = admin_client.post("/partner/integrations/int-1/edit/", data)

    assert response.status_code == 302
    assert json.loads(api.calls[-1].request.body)["endpoints"] == []


def test_delete_asks_for_confirmation_then_deletes(api: responses.RequestsMock, admin_client: Any) -> None:
    api.get(f"{PARTNER_API}/integrations/int-1", json=integration_json())
    api.delete(f"{PARTNER_API}/integrations/int-1", status=204)

    confirm = admin_client.get("/partner/integrations/int-1/delete/")
    assert confirm.status_code == 200
    assert "Delete the integration “VM Backup Integration”?" in confirm.text
    assert not any(call.request.method == "DELETE" for call in api.calls)

    response = admin_client.post("/partner/integrations/int-1/delete/")

    assert response.status_code == 302
    assert api.calls[-1].request.method == "DELETE"


def test_an_integration_novacron_does_not_know_is_a_404(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    # Another partner's integration id is a 404 at NovaCron too.
    api.get(
        f"{PARTNER_API}/integrations/int-globex",
        status=404,
        json=error_json("not_found", "no such integration"),
    )

    assert admin_client.get("/partner/integrations/int-globex/edit/").status_code == 404


@pytest.mark.parametrize(
    "url", [LIST_URL, NEW_URL, "/partner/integrations/int-1/edit/", "/partner/integrations/int-1/delete/"]
)
def test_without_the_partner_admin_scope_it_offers_the_grant_link_and_calls_nothing(
    api: responses.RequestsMock,
    owner: Any,
    grant: Callable[..., Any],
    client_of: Callable[[Any], Any],
    url: str,
) -> None:
    grant(owner, "openid profile email vm:read")

    response = client_of(owner).get(url)

    assert response.status_code == 403
    assert "scope=partner%3Aadmin" in response.text
    assert len(api.calls) == 0


@pytest.mark.parametrize("role_fixture", ["operator", "viewer"])
@pytest.mark.parametrize(
    "method, url", [("get", LIST_URL), ("post", NEW_URL), ("post", "/partner/integrations/int-1/delete/")]
)
def test_operators_and_viewers_are_refused_with_the_reason(
    api: responses.RequestsMock,
    request: pytest.FixtureRequest,
    grant: Callable[..., Any],
    client_of: Callable[[Any], Any],
    role_fixture: str,
    method: str,
    url: str,
) -> None:
    user = request.getfixturevalue(role_fixture)
    grant(user, "openid profile email vm:read partner:admin")

    response = getattr(client_of(user), method)(url)

    assert response.status_code == 403
    assert (
        f"Your role ({role_fixture}) does not allow you to manage integrations and webhooks" in response.text
    )
    assert len(api.calls) == 0


def test_signed_out_people_are_sent_to_sign_in(client: Any, db: None) -> None:
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_configuration_may_be_written_as_key_value_lines(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.post(f"{PARTNER_API}/integrations", json=integration_json(), status=201)
    config = '# nightly\nbackup_schedule = 0 2 * * *\nretention_days = 30\nenabled: true\nlabel = "x = y"'

    response = admin_client.post(
        NEW_URL,
        {
            **form_key(),
            "name": "Backups",
            "type": "api",
            "status": "active",
            "config": config,
            **endpoint_rows(),
        },
    )

    assert response.status_code == 302
    assert json.loads(api.calls[0].request.body)["config"] == {
        "backup_schedule": "0 2 * * *",
        "retention_days": 30,
        "enabled": True,
        "label": "x = y",
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [("just words", "Line 1: write key = value"), ("a = 1\na = 2", "the key “a” appears twice")],
)
def test_a_key_value_line_it_cannot_read_is_pointed_out(
    api: responses.RequestsMock, admin_client: Any, config: str, message: str
) -> None:
    response = admin_client.post(
        NEW_URL,
        {**form_key(), "name": "x", "type": "api", "status": "active", "config": config, **endpoint_rows()},
    )

    assert response.status_code == 400
    assert message in response.text
    assert len(api.calls) == 0
