"""Models to the contract's JSON objects (plain dicts, so the hot list path skips schema validation)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.core.models import (
    VM,
    Cluster,
    Delivery,
    Integration,
    Migration,
    Partner,
    WebhookSubscription,
)

EMPTY_MIGRATION_METRICS = {
    "transfer_rate_mbps": 0.0,
    "source_vm_load": 0.0,
    "target_vm_load": 0.0,
    "dirty_rate_mbps": 0.0,
    "iteration": 0,
    "downtime_ms": 0,
}


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def partner_json(partner: Partner) -> dict[str, Any]:
    return {
        "partner_id": partner.partner_id,
        "name": partner.name,
        "type": partner.type,
        "tier": partner.tier,
        "status": partner.status,
        "entitlements": list(partner.entitlements),
        "quota_limits": dict(partner.quota_limits),
        "created_at": iso(partner.created_at),
    }


def vm_json(vm: VM) -> dict[str, Any]:
    return {
        "vm_id": vm.vm_id,
        "partner_id": vm.partner_id,
        "name": vm.name,
        "status": vm.status,
        "template": vm.template,
        "cpu_cores": vm.cpu_cores,
        "memory_gb": vm.memory_gb,
        "disk_size_gb": vm.disk_size_gb,
        "network_id": vm.network_id,
        "cloud_provider": vm.cloud_provider,
        "region": vm.region,
        "cluster": vm.cluster_id,
        "ip_address": vm.ip_address,
        "tags": vm.tags,
        "created_at": iso(vm.created_at),
        "updated_at": iso(vm.updated_at),
        "deleted_at": iso(vm.deleted_at),
    }


def cluster_json(cluster: Cluster, *, vcpus_used: int, memory_gb_used: int) -> dict[str, Any]:
    return {
        "cluster_id": cluster.cluster_id,
        "name": cluster.name,
        "cloud_provider": cluster.cloud_provider,
        "region": cluster.region,
        "status": cluster.status,
        "link_speed_mbps": cluster.link_speed_mbps,
        "capacity": {
            "vcpus_total": cluster.vcpus_total,
            "vcpus_used": vcpus_used,
            "memory_gb_total": cluster.memory_gb_total,
            "memory_gb_used": memory_gb_used,
        },
    }


def migration_json(migration: Migration) -> dict[str, Any]:
    return {
        "migration_id": migration.migration_id,
        "partner_id": migration.partner_id,
        "source_vm_id": migration.vm_id,
        "source_cluster": migration.source_cluster_id,
        "target_cluster": migration.target_cluster_id,
        "migration_type": migration.migration_type,
        "status": migration.status,
        "phase": migration.phase,
        # Whole percent, as the reference's `67`; never 100 before the migration has completed.
        "progress_percentage": int(migration.progress_percentage),
        "bytes_transferred": migration.bytes_transferred,
        "bytes_total": migration.bytes_total,
        "estimated_completion": iso(migration.estimated_completion),
        "started_at": iso(migration.started_at),
        "finished_at": iso(migration.finished_at),
        "error": migration.error,
        "options": dict(migration.options),
        "metrics": {**EMPTY_MIGRATION_METRICS, **migration.metrics},
        "created_at": iso(migration.created_at),
        "updated_at": iso(migration.updated_at),
    }


# The reference's `migration.completed` payload says `"status": "success"`; the Migration object itself
# (GET /migrations/{id}, the other events) says `completed`, as the reference's polling loop expects.
COMPLETED_EVENT_STATUS = "success"


def migration_event_data(migration: Migration, *, event_type: str | None = None) -> dict[str, Any]:
    data = migration_json(migration)
    data["target_cluster_id"] = migration.target_cluster_id
    if migration.finished_at:
        # A migration cancelled while still queued never started: it ran for 0 seconds.
        started = migration.started_at or migration.finished_at
        data["duration_seconds"] = max(0, round((migration.finished_at - started).total_seconds()))
    if event_type == "migration.completed":
        data["status"] = COMPLETED_EVENT_STATUS
    return data


def integration_json(integration: Integration) -> dict[str, Any]:
    return {
        "integration_id": integration.integration_id,
        "partner_id": integration.partner_id,
        "name": integration.name,
        "type": integration.type,
        "status": integration.status,
        "config": integration.config,
        "endpoints": integration.endpoints,
        "created_at": iso(integration.created_at),
        "updated_at": iso(integration.updated_at),
    }


def webhook_json(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "subscription_id": subscription.subscription_id,
        "partner_id": subscription.partner_id,
        "url": subscription.url,
        "events": list(subscription.events),
        "status": subscription.status,
        "created_at": iso(subscription.created_at),
        "updated_at": iso(subscription.updated_at),
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "subscription_id": delivery.subscription_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event.event_type,
        "status": delivery.status,
        "attempts_count": delivery.attempts_count,
        "next_attempt_at": iso(delivery.next_attempt_at),
        "created_at": iso(delivery.created_at),
        "attempts": [
            {
                "attempt": attempt.attempt,
                "at": iso(attempt.at),
                "response_status": attempt.response_status,
                "latency_ms": attempt.latency_ms,
                "response_excerpt": attempt.response_excerpt,
                "error": attempt.error,
            }
            for attempt in delivery.attempts.all()
        ],
    }
