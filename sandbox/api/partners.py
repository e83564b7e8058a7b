"""GET partner, quotas and quota checks."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from sandbox.api.auth import PartnerAuth
from sandbox.api.common import partner_of
from sandbox.api.schemas import PartnerOut, QuotaCheckIn, QuotaCheckOut, QuotaList
from sandbox.core.serializers import partner_json
from sandbox.core.services.quotas import quota_check, quota_list

router = Router(tags=["partners"], auth=PartnerAuth("vm:read"))


@router.get("/partners/{partner_id}", response=PartnerOut)
def partner_detail(request: HttpRequest, partner_id: str) -> dict[str, object]:
    return partner_json(partner_of(request, partner_id))


@router.get("/partners/{partner_id}/quotas", response=QuotaList)
def partner_quotas(request: HttpRequest, partner_id: str) -> dict[str, object]:
    return {"data": [state.as_json() for state in quota_list(partner_of(request, partner_id))]}


@router.post("/partners/{partner_id}/quotas/check", response=QuotaCheckOut)
def partner_quota_check(request: HttpRequest, partner_id: str, payload: QuotaCheckIn) -> dict[str, object]:
    return quota_check(
        partner=partner_of(request, partner_id), resource=payload.resource, amount=payload.amount
    )
