"""Request and response shapes of the contract (they drive validation and the OpenAPI document).

Timestamps in responses are strings the serializers format (ISO 8601, UTC, `Z`), so the fast list
path and the schema path print them identically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import field_validator

from sandbox.core.egress import check_url

Template = Literal["ubuntu-22.04", "ubuntu-24.04", "debian-12", "rhel-9", "windows-2022", "rocky-9"]
CloudProvider = Literal["aws", "gcp", "azure", "onprem"]
VMStatus = Literal["provisioning", "running", "stopped", "migrating", "error", "deleted"]
EventType = Literal[
    "vm.created", "vm.deleted", "vm.started", "vm.stopped",
    "migration.started", "migration.progress", "migration.completed", "migration.failed",
    "migration.cancelled", "alert.critical", "quota.exceeded",
]  # fmt: skip
Timestamp = str


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10 or " " in value:
        raise ValueError("must be an http(s) URL")
    return check_url(value)  # ForbiddenTarget is a ValueError: a 400 on this field


class Page(Schema):
    page: int
    limit: int
    total: int
    has_more: bool


class QuotaLimits(Schema):
    api_calls_per_minute: int
    vm_create_per_day: int
    migration_concurrent: int


class PartnerOut(Schema):
    partner_id: str
    name: str
    type: Literal["technology", "reseller", "managed_service", "oem"]
    tier: Literal["bronze", "silver", "gold", "platinum"]
    status: Literal["active", "suspended"]
    entitlements: list[str]
    quota_limits: QuotaLimits
    created_at: Timestamp


class QuotaOut(Schema):
    name: str
    limit: int
    used: int
    remaining: int
    reset_at: Timestamp | None


class QuotaList(Schema):
    data: list[QuotaOut]


class QuotaCheckIn(Schema):
    resource: str = Field(..., min_length=1, max_length=64)
    amount: int = Field(1, ge=1, le=1_000_000)


class QuotaCheckOut(Schema):
    allowed: bool
    quota: str
    limit: int
    used: int
    remaining: int


class VMOut(Schema):
    vm_id: str
    partner_id: str
    name: str
    status: VMStatus
    template: str
    cpu_cores: int
    memory_gb: int
    disk_size_gb: int
    network_id: str
    cloud_provider: CloudProvider
    region: str
    cluster: str
    ip_address: str
    tags: dict[str, str]
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: Timestamp | None


class VMPage(Page):
    data: list[VMOut]


class VMSpecIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    template: Template
    cpu_cores: int = Field(..., ge=1, le=128)
    memory_gb: int = Field(..., ge=1, le=1024)
    disk_size_gb: int = Field(..., ge=10, le=65536)
    network_id: str = Field(..., min_length=1, max_length=64)
    cloud_provider: CloudProvider
    region: str = Field(..., min_length=1, max_length=64)
    tags: dict[str, str] = Field(default_factory=dict)
    cluster: str | None = Field(None, max_length=64)


class ClusterCapacity(Schema):
    vcpus_total: int
    vcpus_used: int
    memory_gb_total: int
    memory_gb_used: int


class ClusterOut(Schema):
    cluster_id: str
    name: str
    cloud_provider: CloudProvider
    region: str
    status: str
    link_speed_mbps: int
    capacity: ClusterCapacity


class ClusterList(Schema):
    data: list[ClusterOut]


class MigrationOptions(Schema):
    # `default=` by name: type checkers see a default only there, and default_factory below needs one.
    downtime_window_minutes: int | None = Field(default=None, ge=0, le=10_080)
    verify_after_migration: bool = True


class MigrationSpecIn(Schema):
    source_vm_id: str = Field(..., min_length=1, max_length=64)
    target_cluster: str = Field(..., min_length=1, max_length=64)
    migration_type: Literal["live", "cold"] = "live"
    options: MigrationOptions = Field(default_factory=MigrationOptions)


class MigrationMetrics(Schema):
    transfer_rate_mbps: float
    source_vm_load: float
    target_vm_load: float
    dirty_rate_mbps: float
    iteration: int
    downtime_ms: int


class MigrationOut(Schema):
    migration_id: str
    partner_id: str
    source_vm_id: str
    source_cluster: str
    target_cluster: str
    migration_type: Literal["live", "cold"]
    status: Literal["pending", "in_progress", "completed", "failed", "cancelled"]
    phase: str
    progress_percentage: int
    bytes_transferred: int
    bytes_total: int
    estimated_completion: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    error: str | None
    options: dict[str, Any]
    metrics: MigrationMetrics
    created_at: Timestamp
    updated_at: Timestamp


class MigrationPage(Page):
    data: list[MigrationOut]


class EndpointIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    url: str = Field(..., max_length=1000)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    auth_type: Literal["none", "basic", "bearer", "hmac", "oauth2"] = "none"
    timeout_seconds: int = Field(30, ge=1, le=120)

    _url = field_validator("url")(_http_url)


class IntegrationIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    type: Literal["api", "webhook", "oauth", "saml"]
    config: dict[str, Any] = Field(default_factory=dict)
    endpoints: list[EndpointIn] = Field(default_factory=list, max_length=50)
    status: Literal["active", "disabled"] = "active"


class IntegrationPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    type: Literal["api", "webhook", "oauth", "saml"] | None = None
    config: dict[str, Any] | None = None
    endpoints: list[EndpointIn] | None = Field(None, max_length=50)
    status: Literal["active", "disabled"] | None = None


class IntegrationOut(Schema):
    integration_id: str
    partner_id: str
    name: str
    type: str
    status: str
    config: dict[str, Any]
    endpoints: list[EndpointIn]
    created_at: Timestamp
    updated_at: Timestamp


class IntegrationPage(Page):
    data: list[IntegrationOut]


class WebhookIn(Schema):
    url: str = Field(..., max_length=1000)
    events: list[EventType] = Field(..., min_length=1, max_length=20)
    secret: str = Field(..., min_length=16, max_length=256)

    _url = field_validator("url")(_http_url)


class WebhookPatch(Schema):
    url: str | None = Field(None, max_length=1000)
    events: list[EventType] | None = Field(None, min_length=1, max_length=20)
    secret: str | None = Field(None, min_length=16, max_length=256)
    status: Literal["active", "disabled"] | None = None

    @field_validator("url")
    @classmethod
    def _patch_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)


class WebhookOut(Schema):
    subscription_id: str
    partner_id: str
    url: str
    events: list[str]
    status: str
    created_at: Timestamp
    updated_at: Timestamp


class WebhookPage(Page):
    data: list[WebhookOut]


class AttemptOut(Schema):
    attempt: int
    at: Timestamp
    response_status: int | None
    latency_ms: int
    response_excerpt: str
    error: str | None


class DeliveryOut(Schema):
    delivery_id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: Literal["pending", "retrying", "succeeded", "failed"]
    attempts_count: int
    next_attempt_at: Timestamp | None
    created_at: Timestamp
    attempts: list[AttemptOut]


class DeliveryPage(Page):
    data: list[DeliveryOut]


class MetricIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    value: float = Field(..., allow_inf_nan=False)
    unit: str = Field("", max_length=32)
    timestamp: datetime | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class MetricOut(Schema):
    name: str
    value: float
    unit: str
    timestamp: Timestamp
    tags: dict[str, str]


class MetricPoint(Schema):
    timestamp: Timestamp
    value: float


class MetricSeries(Schema):
    metric: str
    unit: str
    points: list[MetricPoint]


class MetricsOut(Schema):
    resource: str
    resource_id: str
    interval: str
    aggregate: str
    start: Timestamp
    end: Timestamp
    series: list[MetricSeries]


class Ping(Schema):
    ok: bool
    time: Timestamp
