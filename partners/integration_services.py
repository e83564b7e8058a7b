"""Integrations live at NovaCron only: these calls go through the signed-in user's token, so NovaCron
itself authorizes the user (scope `partner:admin`, role admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import novacron
    from novacron.models import Integration, Page


def integration_list(*, client: novacron.Client, page: int = 1) -> Page[Integration]:
    return client.list_integrations(page=page, limit=50)


def integration_get(*, client: novacron.Client, integration_id: str) -> Integration:
    return client.get_integration(integration_id)


def integration_create(*, client: novacron.Client, body: dict[str, Any]) -> Integration:
    return client.create_integration(body)


def integration_update(*, client: novacron.Client, integration_id: str, body: dict[str, Any]) -> Integration:
    return client.update_integration(integration_id, body)


def integration_delete(*, client: novacron.Client, integration_id: str) -> None:
    client.delete_integration(integration_id)
