from __future__ import annotations

import uuid

import pytest
from novacron import Client, ConflictError, Endpoint, Integration, NotFoundError, ValidationError

pytestmark = pytest.mark.integration


def test_an_integration_is_created_listed_updated_and_deleted(acme: Client) -> None:
    name = f"VM Backup Integration {uuid.uuid4().hex[:8]}"

    created = acme.create_integration(
        Integration(
            name=name,
            type="api",
            config={"backup_schedule": "0 2 * * *", "retention_days": 30},
            endpoints=[
                Endpoint(
                    name="backup-webhook",
                    url="https://backup.acme.com/webhook",
                    method="POST",
                    auth_type="bearer",
                )
            ],
        )
    )

    assert created.integration_id and created.partner_id == "partner-acme"
    assert created.endpoints[0].timeout_seconds == 30
    assert created.integration_id in {i.integration_id for i in acme.list_integrations(limit=500)}
    with pytest.raises(ConflictError):
        acme.create_integration({"name": name, "type": "api", "config": {}, "endpoints": []})

    updated = acme.update_integration(created.integration_id, {"status": "disabled"})
    assert updated.status == "disabled"
    assert acme.get_integration(created.integration_id).status == "disabled"

    acme.delete_integration(created.integration_id)
    with pytest.raises(NotFoundError):
        acme.get_integration(created.integration_id)


def test_an_endpoint_url_must_be_http(acme: Client) -> None:
    with pytest.raises(ValidationError):
        acme.create_integration(
            Integration(
                name=f"bad {uuid.uuid4().hex[:6]}",
                type="webhook",
                endpoints=[Endpoint(name="ftp", url="ftp://files.acme.com/drop")],
            )
        )
