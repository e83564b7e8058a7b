"""The local cache of the partner's fleet: kept in sync by Celery and by webhooks.

List pages read these tables (filtered and paginated in SQL), never the API. Field names follow
the wire contract (docs/partner-api.md).
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from partners.models import Partner


class Cluster(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="clusters")
    cluster_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    cloud_provider = models.CharField(max_length=32)
    region = models.CharField(max_length=64)
    status = models.CharField(max_length=32, default="active")
    link_speed_mbps = models.IntegerField(default=0)
    capacity = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "cluster_id"], name="cluster_unique_per_partner")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})"


class VM(models.Model):
    class Status(models.TextChoices):
        PROVISIONING = "provisioning"
        RUNNING = "running"
        STOPPED = "stopped"
        MIGRATING = "migrating"
        ERROR = "error"
        DELETED = "deleted"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="vms")
    vm_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices)
    template = models.CharField(max_length=64, blank=True)
    cpu_cores = models.IntegerField(default=0)
    memory_gb = models.IntegerField(default=0)
    disk_size_gb = models.IntegerField(default=0)
    network_id = models.CharField(max_length=64, blank=True)
    cloud_provider = models.CharField(max_length=32, blank=True)
    region = models.CharField(max_length=64, blank=True)
    cluster = models.CharField(max_length=64, blank=True, help_text="NovaCron cluster id")
    ip_address = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(help_text="NovaCron's updated_at: events older than this are ignored")
    synced_at = models.DateTimeField()

    class Meta:
        verbose_name = "VM"
        verbose_name_plural = "VMs"
        constraints = [models.UniqueConstraint(fields=["partner", "vm_id"], name="vm_unique_per_partner")]
        indexes = [
            # Each filter column, then status, then creation time (the row id comes last implicitly):
            # the per-status counts under a filter are read from the index alone, and "these VMs,
            # newest first" walks the index in order instead of sorting every match.
            models.Index(fields=["partner", "status", "created_at"], name="vm_partner_status_created"),
            models.Index(
                fields=["partner", "region", "status", "created_at"], name="vm_region_status_created"
            ),
            models.Index(
                fields=["partner", "cloud_provider", "status", "created_at"], name="vm_cloud_status_created"
            ),
            models.Index(
                fields=["partner", "cluster", "status", "created_at"], name="vm_cluster_status_created"
            ),
            models.Index(fields=["partner", "name"], name="vm_partner_name"),
            # One index per sort of the list, ending in the row id (the tie-breaker), so any page of
            # any order is a seek and a short walk: page 1 reads the first entries, a cursor page
            # (vms/list_pages.py) seeks to its (key, id). The row id is written out because
            # PostgreSQL, unlike SQLite, does not end every index with it.
            models.Index("partner", Lower("name"), "id", name="vm_sort_name"),
            models.Index(fields=["partner", "status", "id"], name="vm_sort_status"),
            models.Index(fields=["partner", "created_at", "id"], name="vm_sort_created"),
            models.Index(fields=["partner", "region", "id"], name="vm_sort_region"),
            models.Index(fields=["partner", "cpu_cores", "id"], name="vm_sort_cpu"),
            models.Index(fields=["partner", "memory_gb", "id"], name="vm_sort_memory"),
            # By region within a cloud: a cloud's regions are a run of the region order, so walking
            # vm_sort_region for one cloud would first skip every other cloud's VMs.
            models.Index(fields=["partner", "cloud_provider", "region", "id"], name="vm_sort_cloud_region"),
            # Search: a pasted IP address is an exact lookup (a VM id has the unique constraint's index).
            models.Index(fields=["partner", "ip_address"], name="vm_partner_ip"),
        ]

    def __str__(self) -> str:
        return self.name


class VMTombstone(models.Model):
    """A VM that NovaCron deleted, remembered so that an older event or sync page cannot bring it back.

    Written by every path that removes a cached VM (a `vm.deleted` event, a sync tombstone, the
    portal's own delete, a 404). `updated_at` is NovaCron's stamp of the deletion; without one (the
    portal's delete answers 204 with no body) nothing revives the VM.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="vm_tombstones")
    vm_id = models.CharField(max_length=64)
    updated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "vm_id"], name="vm_tombstone_unique_per_partner")
        ]

    def __str__(self) -> str:
        return f"{self.vm_id} (deleted)"


class Migration(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="migrations")
    migration_id = models.CharField(max_length=64)
    source_vm_id = models.CharField(max_length=64)
    vm_name = models.CharField(max_length=255, blank=True)
    source_cluster = models.CharField(max_length=64, blank=True)
    target_cluster = models.CharField(max_length=64)
    migration_type = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices)
    phase = models.CharField(max_length=32, blank=True)
    progress_percentage = models.FloatField(default=0)
    bytes_transferred = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    estimated_completion = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    options = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    # Recent (timestamp, transfer_rate_mbps) samples for the panel's small rate chart.
    rate_history = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(help_text="NovaCron's updated_at: older updates never overwrite newer")
    last_event_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "migration_id"], name="migration_unique_per_partner")
        ]
        indexes = [
            models.Index(fields=["partner", "status"], name="migration_partner_status"),
            models.Index(fields=["partner", "source_vm_id"], name="migration_partner_vm"),
            models.Index(fields=["partner", "-created_at"], name="migration_partner_created"),
        ]

    def __str__(self) -> str:
        return f"{self.migration_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status not in self.FINISHED


class SyncRun(models.Model):
    """One run of a background sync: what it did, or why it failed."""

    class Kind(models.TextChoices):
        PARTNER = "partner"
        CLUSTERS = "clusters"
        VMS_INCREMENTAL = "vms_incremental"
        VMS_FULL = "vms_full"
        MIGRATIONS = "migrations"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        # Still "running" long after its worker must have died (killed, out of memory, redeployed).
        ABANDONED = "abandoned"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    items = models.IntegerField(default=0)
    deleted = models.IntegerField(default=0)
    api_calls = models.IntegerField(default=0)
    # The updated_since watermark this run reached (the next incremental run starts here).
    watermark = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["partner", "kind", "-started_at"], name="syncrun_partner_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class VMStateInterval(models.Model):
    """One stretch of a VM's life in one state, with its size, placement and tags at the time.

    Written only by `vms.intervals` (called from `vms.cache`, so the sync, webhooks, polls and the
    portal's own writes all feed it). A row starts at NovaCron's stamp of a state and ends where the
    next row of the VM starts (`ended_at` is empty for the VM's last row); a deleted VM's last row has
    status `deleted`. Every observed stamp is kept as a boundary, so an event that arrives late splits
    the stretch it falls in and the rest stays right. Usage (`usage/`) is computed from these rows.
    """

    class Origin(models.TextChoices):
        VM = "vm"  # NovaCron's VM object (event, sync page, action answer): every field is its word
        MIGRATION_START = "migration_start"  # derived: the VM is migrating; the rest as before it
        MIGRATION_LANDED = "migration_landed"  # derived: back to its prior status, on the target cluster
        MIGRATION_RESTORED = "migration_restored"  # derived: back to its prior status, where it was

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="vm_state_intervals")
    vm_id = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=24, choices=Origin.choices, default=Origin.VM)
    status = models.CharField(max_length=16)
    vm_name = models.CharField(max_length=255, blank=True)
    vm_created_at = models.DateTimeField(null=True, blank=True)
    cpu_cores = models.IntegerField(default=0)
    memory_gb = models.IntegerField(default=0)
    cloud_provider = models.CharField(max_length=32, blank=True)
    region = models.CharField(max_length=64, blank=True)
    cluster = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # When this row was last written: usage recomputes the days of rows written since its last run.
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "vm_id", "started_at"], name="vm_state_interval_unique_start"
            )
        ]
        indexes = [
            models.Index(fields=["partner", "started_at"], name="vm_interval_partner_start"),
            models.Index(fields=["partner", "recorded_at"], name="vm_interval_partner_recorded"),
            models.Index(fields=["partner", "vm_id", "ended_at"], name="vm_interval_vm_open"),
        ]

    def __str__(self) -> str:
        return f"{self.vm_id} {self.status} from {self.started_at:%Y-%m-%d %H:%M:%S}"
