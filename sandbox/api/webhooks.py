"""Webhook subscriptions, their deliveries, test events and redelivery (partner:admin)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Status
from ninja.params.functions import Query  # what ninja.Query calls, typed (that name is typed as Query[T])

from sandbox.api.auth import PartnerAuth
from sandbox.api.common import partner_of
from sandbox.api.schemas import DeliveryOut, DeliveryPage, WebhookIn, WebhookOut, WebhookPage, WebhookPatch
from sandbox.core.models import WebhookSubscription
from sandbox.core.selectors import PageRequest, delivery_get, delivery_list, page_json, paginate, webhook_get
from sandbox.core.serializers import delivery_json, webhook_json
from sandbox.core.services.webhooks import (
    delivery_redeliver,
    webhook_create,
    webhook_delete,
    webhook_send_test,
    webhook_update,
)

router = Router(tags=["webhooks"], auth=PartnerAuth("partner:admin"))
BASE = "/partners/{partner_id}/webhooks"


@router.get(BASE, response=WebhookPage)
def webhooks_list(
    request: HttpRequest, partner_id: str, page: int = Query(1, ge=1), limit: int = Query(50, ge=1, le=500)
) -> dict[str, object]:
    page_request = PageRequest(page=page, limit=limit)
    queryset = WebhookSubscription.objects.filter(partner=partner_of(request, partner_id)).order_by(
        "created_at", "subscription_id"
    )
    items, total, has_more = paginate(queryset, page_request)
    return page_json([webhook_json(s) for s in items], total, has_more, page_request)


@router.post(BASE, response={201: WebhookOut})
def webhooks_create(request: HttpRequest, partner_id: str, payload: WebhookIn) -> Status[dict[str, Any]]:
    subscription = webhook_create(
        partner=partner_of(request, partner_id),
        url=payload.url,
        events=list(payload.events),
        secret=payload.secret,
    )
    return Status(201, webhook_json(subscription))


@router.get(BASE + "/{subscription_id}", response=WebhookOut)
def webhooks_detail(request: HttpRequest, partner_id: str, subscription_id: str) -> dict[str, object]:
    return webhook_json(webhook_get(partner=partner_of(request, partner_id), subscription_id=subscription_id))


@router.patch(BASE + "/{subscription_id}", response=WebhookOut)
def webhooks_update(
    request: HttpRequest, partner_id: str, subscription_id: str, payload: WebhookPatch
) -> dict[str, object]:
    subscription = webhook_get(partner=partner_of(request, partner_id), subscription_id=subscription_id)
    return webhook_json(webhook_update(subscription=subscription, fields=payload.dict(exclude_unset=True)))


@router.delete(BASE + "/{subscription_id}", response={204: None})
def webhooks_delete(request: HttpRequest, partner_id: str, subscription_id: str) -> Status[None]:
    webhook_delete(
        subscription=webhook_get(partner=partner_of(request, partner_id), subscription_id=subscription_id)
    )
    return Status(204, None)


@router.post(BASE + "/{subscription_id}/test", response={202: DeliveryOut})
def webhooks_test(request: HttpRequest, partner_id: str, subscription_id: str) -> Status[dict[str, Any]]:
    subscription = webhook_get(partner=partner_of(request, partner_id), subscription_id=subscription_id)
    return Status(202, delivery_json(webhook_send_test(subscription=subscription)))


@router.get(BASE + "/{subscription_id}/deliveries", response=DeliveryPage)
def webhooks_deliveries(
    request: HttpRequest,
    partner_id: str,
    subscription_id: str,
    status: Literal["pending", "retrying", "succeeded", "failed"] | None = None,
    page: int = Query(1, ge=1),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, object]:
    subscription = webhook_get(partner=partner_of(request, partner_id), subscription_id=subscription_id)
    page_request = PageRequest(page=page, limit=limit)
    items, total, has_more = paginate(delivery_list(subscription=subscription, status=status), page_request)
    return page_json([delivery_json(d) for d in items], total, has_more, page_request)


@router.post(BASE + "/{subscription_id}/deliveries/{delivery_id}/redeliver", response={202: DeliveryOut})
def webhooks_redeliver(
    request: HttpRequest, partner_id: str, subscription_id: str, delivery_id: str
) -> Status[dict[str, Any]]:
    subscription = webhook_get(partner=partner_of(request, partner_id), subscription_id=subscription_id)
    delivery = delivery_get(subscription=subscription, delivery_id=delivery_id)
    return Status(202, delivery_json(delivery_redeliver(delivery=delivery)))
