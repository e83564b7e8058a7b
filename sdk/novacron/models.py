"""Typed models for every type of the reference and the contract (field names as on the wire)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from ._serde import Model, encode, format_datetime

T = TypeVar("T")

# `success` is the word of a `migration.completed` event's data (the reference's payload); the
# Migration object itself says `completed`.
FINISHED_MIGRATION_STATUSES = frozenset({"completed", "success", "failed", "cancelled"})
# The phases in order, as the contract names them: the bulk copy is `data_sync` for both types.
LIVE_MIGRATION_PHASES = (
    "pre_check",
    "data_sync",
    "memory_precopy",
    "switchover",
    "verification",
    "completed",
)
COLD_MIGRATION_PHASES = ("pre_check", "shutdown", "data_sync", "boot", "verification", "completed")
# Every webhook event type: the reference's nine, `migration.progress` and the extension
# `migration.cancelled` (sent beside the `migration.progress` of a cancellation).
EVENT_TYPES = (
    "vm.created",
    "vm.deleted",
    "vm.started",
    "vm.stopped",
    "migration.started",
    "migration.progress",
    "migration.completed",
    "migration.failed",
    "migration.cancelled",
    "alert.critical",
    "quota.exceeded",
)


@dataclass
class Partner(Model):
    partner_id: str = ""
    name: str = ""
    type: str = ""
    tier: str = ""
    status: str = ""
    entitlements: list[str] = field(default_factory=list)
    quota_limits: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass
class Quota(Model):
    name: str = ""
    limit: int = 0
    used: int = 0
    remaining: int = 0
    reset_at: datetime | None = None


@dataclass
class QuotaCheck(Model):
    allowed: bool = False
    quota: str = ""
    limit: int = 0
    used: int = 0
    remaining: int = 0

    def __bool__(self) -> bool:
        # `if client.check_quota("vm-create", 10):` reads like the reference's `allowed, err := ...`.
        return self.allowed


@dataclass
class Endpoint(Model):
    name: str = ""
    url: str = ""
    method: str = "POST"
    auth_type: str = "none"
    timeout_seconds: int = 30


@dataclass
class Integration(Model):
    name: str = ""
    type: str = "api"
    config: dict[str, Any] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    status: str | None = None
    integration_id: str | None = None
    partner_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_create_body(self) -> dict[str, Any]:
        """Only the writable fields: the server assigns ids and timestamps."""
        body = {
            "name": self.name,
            "type": self.type,
            "config": encode(self.config),
            "endpoints": encode(self.endpoints),
        }
        if self.status is not None:
            body["status"] = self.status
        return body


@dataclass
class VM(Model):
    vm_id: str = ""
    partner_id: str = ""
    name: str = ""
    status: str = ""
    template: str = ""
    cpu_cores: int = 0
    memory_gb: int = 0
    disk_size_gb: int = 0
    network_id: str = ""
    cloud_provider: str = ""
    region: str = ""
    cluster: str | None = None
    ip_address: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.status == "deleted" or self.deleted_at is not None


@dataclass
class VMSpec(Model):
    name: str
    template: str
    cpu_cores: int
    memory_gb: int
    disk_size_gb: int
    network_id: str
    cloud_provider: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    cluster: str | None = None


@dataclass
class VMListOptions(Model):
    status: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    cloud_provider: str | None = None
    region: str | None = None
    cluster: str | None = None
    q: str | None = None
    updated_since: datetime | None = None
    include_deleted: bool | None = None
    page: int = 1
    limit: int = 50

    def with_filters(self, **filters: Any) -> VMListOptions:
        known = {f.name for f in fields(self)}
        unknown = set(filters) - known
        if unknown:
            raise TypeError(f"unknown VM filter(s): {', '.join(sorted(unknown))}")
        return replace(self, **filters)

    def to_params(self) -> list[tuple[str, str]]:
        """Query parameters; tags become repeated ``tag=k:v`` (all must match)."""
        params: list[tuple[str, str]] = []
        for name in ("status", "cloud_provider", "region", "cluster", "q"):
            value = getattr(self, name)
            if value:
                params.append((name, str(value)))
        params.extend(("tag", f"{k}:{v}") for k, v in sorted(self.tags.items()))
        if self.updated_since is not None:
            params.append(("updated_since", format_datetime(self.updated_since)))
        if self.include_deleted is not None:
            params.append(("include_deleted", "true" if self.include_deleted else "false"))
        params += [("page", str(self.page)), ("limit", str(self.limit))]
        return params


@dataclass
class ClusterCapacity(Model):
    vcpus_total: int = 0
    vcpus_used: int = 0
    memory_gb_total: int = 0
    memory_gb_used: int = 0


@dataclass
class Cluster(Model):
    cluster_id: str = ""
    name: str = ""
    cloud_provider: str = ""
    region: str = ""
    status: str = ""
    link_speed_mbps: float = 0.0
    capacity: ClusterCapacity = field(default_factory=ClusterCapacity)


@dataclass
class MigrationSpec(Model):
    source_vm_id: str
    target_cluster: str
    migration_type: str = "live"
    # downtime_window_minutes (int), verify_after_migration (bool, server default true)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class MigrationMetrics(Model):
    transfer_rate_mbps: float | None = None
    # Loads are fractions of the VM's capacity, 0..1 (the reference's 0.15).
    source_vm_load: float | None = None
    target_vm_load: float | None = None
    dirty_rate_mbps: float | None = None
    iteration: int | None = None
    downtime_ms: float | None = None


@dataclass
class MigrationStatus(Model):
    migration_id: str = ""
    partner_id: str = ""
    source_vm_id: str = ""
    source_cluster: str | None = None
    target_cluster: str = ""
    migration_type: str = ""
    status: str = ""
    phase: str = ""
    progress_percentage: int = 0  # whole percent; finer: bytes_transferred / bytes_total
    bytes_transferred: int = 0
    bytes_total: int = 0
    estimated_completion: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    metrics: MigrationMetrics = field(default_factory=MigrationMetrics)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Present in webhook events only.
    target_cluster_id: str | None = None
    duration_seconds: int | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_MIGRATION_STATUSES

    @property
    def transferred_fraction(self) -> float | None:
        """Bytes moved over bytes to move (0..1): finer than the whole-percent ``progress_percentage``."""
        return min(1.0, self.bytes_transferred / self.bytes_total) if self.bytes_total else None


@dataclass
class MetricsQuery(Model):
    resource_id: str
    metrics: list[str] = field(default_factory=lambda: ["cpu_usage"])
    resource: str = "vm"
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval: str = "1m"
    aggregate: str | None = None

    def to_params(self) -> dict[str, str]:
        params = {
            "resource": self.resource,
            "resource_id": self.resource_id,
            "metrics": ",".join(self.metrics),
            "interval": self.interval,
        }
        if self.start_time is not None:
            params["start"] = format_datetime(self.start_time)
        if self.end_time is not None:
            params["end"] = format_datetime(self.end_time)
        if self.aggregate:
            params["aggregate"] = self.aggregate
        return params


@dataclass
class MetricPoint(Model):
    timestamp: datetime
    value: float


@dataclass
class MetricSeries(Model):
    metric: str = ""
    unit: str = ""
    points: list[MetricPoint] = field(default_factory=list)


@dataclass
class MetricsResult(Model):
    resource: str = ""
    resource_id: str = ""
    interval: str = ""
    aggregate: str = ""
    start: datetime | None = None
    end: datetime | None = None
    series: list[MetricSeries] = field(default_factory=list)

    def get(self, metric: str) -> MetricSeries | None:
        return next((s for s in self.series if s.metric == metric), None)


@dataclass
class Metric(Model):
    name: str
    value: float
    unit: str = ""
    timestamp: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class WebhookSubscription(Model):
    subscription_id: str = ""
    partner_id: str = ""
    url: str = ""
    events: list[str] = field(default_factory=list)
    status: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class DeliveryAttempt(Model):
    attempt: int = 0
    at: datetime | None = None
    response_status: int | None = None
    latency_ms: float | None = None
    response_excerpt: str | None = None
    error: str | None = None


@dataclass
class Delivery(Model):
    delivery_id: str = ""
    subscription_id: str = ""
    event_id: str = ""
    event_type: str = ""
    status: str = ""
    attempts_count: int = 0
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    attempts: list[DeliveryAttempt] = field(default_factory=list)


@dataclass
class WebhookEvent(Model):
    event_id: str = ""
    event_type: str = ""
    timestamp: datetime | None = None
    partner_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def vm(self) -> VM | None:
        """``data`` as a VM for ``vm.*`` events."""
        return VM.from_dict(self.data) if self.event_type.startswith("vm.") else None

    @property
    def migration(self) -> MigrationStatus | None:
        """``data`` as a migration for ``migration.*`` events."""
        return MigrationStatus.from_dict(self.data) if self.event_type.startswith("migration.") else None


@dataclass
class RateLimitInfo(Model):
    limit: int
    remaining: int
    reset: datetime

    @classmethod
    def from_headers(cls, headers: Any) -> RateLimitInfo | None:
        """The ``X-RateLimit-*`` headers of a response, or None when any is missing or garbled."""
        try:
            limit = int(headers["X-RateLimit-Limit"])
            remaining = int(headers["X-RateLimit-Remaining"])
            reset = datetime.fromtimestamp(float(headers["X-RateLimit-Reset"]), tz=UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            return None
        return cls(limit=limit, remaining=remaining, reset=reset)


@dataclass
class Page(Generic[T]):  # noqa: UP046 - the SDK still supports Python 3.11
    """One page of a list endpoint; ``auto_paging_iter()`` walks this page and every later one."""

    data: list[T]
    page: int = 1
    limit: int = 50
    total: int = 0
    has_more: bool = False
    _fetch_page: Callable[[int], Page[T]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(
        cls,
        raw: dict[str, Any],
        item: Callable[[dict[str, Any]], T],
        fetch_page: Callable[[int], Page[T]] | None = None,
    ) -> Page[T]:
        items = [item(entry) for entry in raw.get("data", [])]
        return cls(
            data=items,
            page=int(raw.get("page", 1)),
            limit=int(raw.get("limit", len(items))),
            total=int(raw.get("total", len(items))),
            has_more=bool(raw.get("has_more", False)),
            _fetch_page=fetch_page,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": encode(self.data),
            "page": self.page,
            "limit": self.limit,
            "total": self.total,
            "has_more": self.has_more,
        }

    def next_page(self) -> Page[T] | None:
        if not self.has_more or self._fetch_page is None:
            return None
        return self._fetch_page(self.page + 1)

    def auto_paging_iter(self) -> Iterator[T]:
        page: Page[T] | None = self
        while page is not None:
            yield from page.data
            # An empty page that claims more would loop forever on a confused server.
            page = page.next_page() if page.data else None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
