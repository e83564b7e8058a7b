from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
from novacron import Client, Endpoint, Integration
from sdk_support import API, PARTNER, FakeClock, page_body, rate_headers


def body_of(call: responses.Call) -> dict:
    return json.loads(call.request.body)


def test_it_gets_the_partner_as_a_typed_model(client: Client, api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/partners/{PARTNER}",
        headers=rate_headers(),
        json={
            "partner_id": PARTNER,
            "name": "Acme Corp",
            "type": "technology",
            "tier": "gold",
            "status": "active",
            "entitlements": ["white-label"],
            "created_at": "2026-01-01T00:00:00Z",
            "future_field": 1,
            "quota_limits": {
                "api_calls_per_minute": 1000,
                "vm_create_per_day": 1000,
                "migration_concurrent": 50,
            },
        },
    )

    partner = client.get_partner()

    assert partner.name == "Acme Corp"
    assert partner.tier == "gold"
    assert partner.quota_limits["migration_concurrent"] == 50
    assert partner.created_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_it_lists_every_quota(client: Client, api: responses.RequestsMock) -> None:
    api.get(
        f"{API}/partners/{PARTNER}/quotas",
        json={
            "data": [
                {
                    "name": "vm_create_per_day",
                    "limit": 1000,
                    "used": 10,
                    "remaining": 990,
                    "reset_at": "2026-01-02T00:00:00Z",
                },
                {"name": "migration_concurrent", "limit": 50, "used": 2, "remaining": 48, "reset_at": None},
            ]
        },
    )

    quotas = client.get_quotas()

    assert [q.name for q in quotas] == ["vm_create_per_day", "migration_concurrent"]
    assert quotas[0].reset_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert quotas[1].reset_at is None


def test_check_quota_posts_the_resource_and_amount(client: Client, api: responses.RequestsMock) -> None:
    api.post(
        f"{API}/partners/{PARTNER}/quotas/check",
        json={"allowed": False, "quota": "vm_create_per_day", "limit": 1000, "used": 995, "remaining": 5},
    )

    check = client.check_quota("vm-create", 10)

    assert body_of(api.calls[0]) == {"resource": "vm-create", "amount": 10}
    assert not check.allowed and not check
    assert (check.quota, check.limit, check.used, check.remaining) == ("vm_create_per_day", 1000, 995, 5)


INTEGRATION = {
    "integration_id": "int-1",
    "partner_id": PARTNER,
    "name": "VM Backup Integration",
    "type": "api",
    "status": "active",
    "config": {"backup_schedule": "0 2 * * *", "retention_days": 30},
    "endpoints": [
        {
            "name": "backup-webhook",
            "url": "https://backup.acme.com/webhook",
            "method": "POST",
            "auth_type": "bearer",
            "timeout_seconds": 30,
        }
    ],
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}


def test_it_creates_an_integration_sending_only_writable_fields(
    client: Client, api: responses.RequestsMock
) -> None:
    api.post(f"{API}/partners/{PARTNER}/integrations", status=201, json=INTEGRATION)

    created = client.create_integration(
        Integration(
            name="VM Backup Integration",
            type="api",
            config={"backup_schedule": "0 2 * * *", "retention_days": 30},
            endpoints=[
                Endpoint(name="backup-webhook", url="https://backup.acme.com/webhook", auth_type="bearer")
            ],
        )
    )

    assert body_of(api.calls[0]) == {
        "name": "VM Backup Integration",
        "type": "api",
        "config": {"backup_schedule": "0 2 * * *", "retention_days": 30},
        "endpoints": [
            {
                "name": "backup-webhook",
                "url": "https://backup.acme.com/webhook",
                "method": "POST",
                "auth_type": "bearer",
                "timeout_seconds": 30,
            }
        ],
    }
    assert created.integration_id == "int-1"
    assert created.endpoints[0].auth_type == "bearer"


def test_it_accepts_a_plain_dict_for_a_new_integration(client: Client, api: responses.RequestsMock) -> None:
    api.post(f"{API}/partners/{PARTNER}/integrations", status=201, json=INTEGRATION)

    client.create_integration({"name": "x", "type": "webhook"})

    assert body_of(api.calls[0]) == {"name": "x", "type": "webhook"}


def test_it_lists_gets_updates_and_deletes_integrations(client: Client, api: responses.RequestsMock) -> None:
    base = f"{API}/partners/{PARTNER}/integrations"
    api.get(base, json=page_body([INTEGRATION], limit=10))
    api.get(f"{base}/int-1", json=INTEGRATION)
    api.patch(f"{base}/int-1", json={**INTEGRATION, "status": "disabled"})
    api.delete(f"{base}/int-1", status=204)

    listed = client.list_integrations(limit=10)
    fetched = client.get_integration("int-1")
    updated = client.update_integration("int-1", {"status": "disabled"})
    deleted = client.delete_integration("int-1")

    assert [i.integration_id for i in listed] == ["int-1"]
    assert "limit=10" in api.calls[0].request.url and "page=1" in api.calls[0].request.url
    assert fetched.config["retention_days"] == 30
    assert body_of(api.calls[2]) == {"status": "disabled"}
    assert updated.status == "disabled"
    assert deleted is None


def test_an_id_cannot_escape_its_path_segment(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/partners/{PARTNER}/integrations/a%2F..%2Fb", json=INTEGRATION)

    client.get_integration("a/../b")

    assert api.calls[0].request.path_url.endswith("/integrations/a%2F..%2Fb")


def test_bearer_mode_needs_the_partner_id_for_partner_calls(clock: FakeClock) -> None:
    client = Client.with_token("http://novacron.test", "tok", clock=clock.time, sleep=clock.sleep)

    with pytest.raises(ValueError, match="partner_id"):
        client.get_partner()


def test_hmac_mode_refuses_a_config_without_credentials() -> None:
    from novacron import SDKConfig

    with pytest.raises(ValueError, match="api_key"):
        Client(SDKConfig(base_url="http://novacron.test", partner_id=PARTNER))
