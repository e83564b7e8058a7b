"""Integrations of a partner (partner:admin)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.params.functions import Query  # what ninja.Query calls, typed (that name is typed as Query[T])

from sandbox.api.auth import PartnerAuth
from sandbox.api.common import partner_of
from sandbox.api.schemas import IntegrationIn, IntegrationOut, IntegrationPage, IntegrationPatch
from sandbox.core.models import Integration
from sandbox.core.selectors import PageRequest, integration_get, page_json, paginate
from sandbox.core.serializers import integration_json
from sandbox.core.services.integrations import integration_create, integration_delete, integration_update

router = Router(tags=["integrations"], auth=PartnerAuth("partner:admin"))
BASE = "/partners/{partner_id}/integrations"


@router.get(BASE, response=IntegrationPage)
def integrations_list(
    request: HttpRequest, partner_id: str, page: int = Query(1, ge=1), limit: int = Query(50, ge=1, le=500)
) -> dict[str, object]:
    page_request = PageRequest(page=page, limit=limit)
    queryset = Integration.objects.filter(partner=partner_of(request, partner_id)).order_by(
        "created_at", "integration_id"
    )
    items, total, has_more = paginate(queryset, page_request)
    return page_json([integration_json(i) for i in items], total, has_more, page_request)


@router.post(BASE, response={201: IntegrationOut})
def integrations_create(
    request: HttpRequest, partner_id: str, payload: IntegrationIn
) -> Status[dict[str, Any]]:
    integration = integration_create(partner=partner_of(request, partner_id), fields=payload.dict())
    return Status(201, integration_json(integration))


@router.get(BASE + "/{integration_id}", response=IntegrationOut)
def integrations_detail(request: HttpRequest, partner_id: str, integration_id: str) -> dict[str, object]:
    return integration_json(
        integration_get(partner=partner_of(request, partner_id), integration_id=integration_id)
    )


@router.patch(BASE + "/{integration_id}", response=IntegrationOut)
def integrations_update(
    request: HttpRequest, partner_id: str, integration_id: str, payload: IntegrationPatch
) -> dict[str, object]:
    integration = integration_get(partner=partner_of(request, partner_id), integration_id=integration_id)
    return integration_json(
        integration_update(integration=integration, fields=payload.dict(exclude_unset=True))
    )


@router.delete(BASE + "/{integration_id}", response={204: None})
def integrations_delete(request: HttpRequest, partner_id: str, integration_id: str) -> Status[None]:
    integration_delete(
        integration=integration_get(partner=partner_of(request, partner_id), integration_id=integration_id)
    )
    return Status(204, None)
