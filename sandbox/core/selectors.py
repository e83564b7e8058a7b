"""Reads: filtered, stably ordered, paginated lists scoped to one partner."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import CharField, Count, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from sandbox.api.errors import NotFound, ValidationFailed
from sandbox.core.models import VM, Cluster, Delivery, Integration, Migration, Partner, WebhookSubscription

MAX_LIMIT = 500


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    limit: int = 50

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValidationFailed.on("page", "must be at least 1")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValidationFailed.on("limit", f"must be between 1 and {MAX_LIMIT}")


@dataclass(frozen=True)
class VMFilters:
    status: str | None = None
    tags: list[str] = field(default_factory=list)
    cloud_provider: str | None = None
    region: str | None = None
    cluster: str | None = None
    q: str | None = None
    updated_since: datetime | None = None
    include_deleted: bool = False


def paginate(queryset: QuerySet[Any], page: PageRequest) -> tuple[list[Any], int, bool]:
    offset = (page.page - 1) * page.limit
    total = queryset.count()
    items = list(queryset[offset : offset + page.limit]) if offset < total else []
    return items, total, offset + len(items) < total


def page_json(items: list[dict[str, Any]], total: int, has_more: bool, page: PageRequest) -> dict[str, Any]:
    return {"data": items, "page": page.page, "limit": page.limit, "total": total, "has_more": has_more}


def _parse_tag(tag: str) -> tuple[str, str]:
    key, sep, value = tag.partition(":")
    if not sep or not key:
        raise ValidationFailed.on("tag", "must look like key:value")
    return key, value


def vm_list(*, partner: Partner, filters: VMFilters) -> QuerySet[VM]:
    vms = VM.objects.filter(partner=partner)
    if filters.updated_since is not None:
        # Incremental sync: tombstones always come along so deletions reach the caller.
        vms = vms.filter(updated_at__gte=filters.updated_since).order_by("updated_at", "vm_id")
    else:
        if not filters.include_deleted and filters.status != "deleted":
            vms = vms.exclude(status="deleted")
        vms = vms.order_by("created_at", "vm_id")
    if filters.status:
        vms = vms.filter(status=filters.status)
    for position, tag in enumerate(filters.tags):
        key, value = _parse_tag(tag)
        alias = f"tag_{position}"
        vms = vms.alias(**{alias: Cast(KeyTextTransform(key, "tags"), output_field=CharField())}).filter(
            **{alias: value}
        )
    if filters.cloud_provider:
        vms = vms.filter(cloud_provider=filters.cloud_provider)
    if filters.region:
        vms = vms.filter(region=filters.region)
    if filters.cluster:
        vms = vms.filter(cluster_id=filters.cluster)
    if filters.q:
        vms = vms.filter(name__icontains=filters.q)
    return vms


def vm_get(*, partner: Partner, vm_id: str) -> VM:
    vm = VM.objects.filter(partner=partner, vm_id=vm_id).first()
    if vm is None:
        raise NotFound(f"No VM {vm_id}.")
    return vm


def cluster_capacity() -> list[tuple[Cluster, int, int]]:
    usage = {
        row["cluster_id"]: (row["vcpus"] or 0, row["memory"] or 0)
        for row in VM.objects.exclude(status="deleted")
        .values("cluster_id")
        .annotate(vcpus=Sum("cpu_cores"), memory=Sum("memory_gb"), n=Count("vm_id"))
    }
    return [
        (cluster, *usage.get(cluster.cluster_id, (0, 0)))
        for cluster in Cluster.objects.order_by("cluster_id")
    ]


def migration_list(*, partner: Partner, status: str | None, vm_id: str | None) -> QuerySet[Migration]:
    migrations = Migration.objects.filter(partner=partner).order_by("-created_at", "-migration_id")
    if status:
        migrations = migrations.filter(status=status)
    if vm_id:
        migrations = migrations.filter(vm_id=vm_id)
    return migrations


def migration_get(*, partner: Partner, migration_id: str) -> Migration:
    migration = Migration.objects.filter(partner=partner, migration_id=migration_id).first()
    if migration is None:
        raise NotFound(f"No migration {migration_id}.")
    return migration


def integration_get(*, partner: Partner, integration_id: str) -> Integration:
    integration = Integration.objects.filter(partner=partner, integration_id=integration_id).first()
    if integration is None:
        raise NotFound(f"No integration {integration_id}.")
    return integration


def webhook_get(*, partner: Partner, subscription_id: str) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.filter(
        partner=partner, subscription_id=subscription_id
    ).first()
    if subscription is None:
        raise NotFound(f"No webhook subscription {subscription_id}.")
    return subscription


def delivery_list(*, subscription: WebhookSubscription, status: str | None) -> QuerySet[Delivery]:
    deliveries = (
        Delivery.objects.filter(subscription=subscription)
        .select_related("event")
        .prefetch_related("attempts")
        .order_by("-created_at", "-delivery_id")
    )
    return deliveries.filter(status=status) if status else deliveries


def delivery_get(*, subscription: WebhookSubscription, delivery_id: str) -> Delivery:
    delivery = delivery_list(subscription=subscription, status=None).filter(delivery_id=delivery_id).first()
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}.")
    return delivery
