"""The platform's data: partners, credentials, clusters, VMs, migrations, integrations, webhooks, events.

Identifiers are the contract's opaque prefixed strings, used as primary keys so the API never has to
translate them. Nothing here points at the user model: identity.User points at Partner instead.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Partner(models.Model):
    TYPES = [(t, t) for t in ("technology", "reseller", "managed_service", "oem")]
    TIERS = [(t, t) for t in ("bronze", "silver", "gold", "platinum")]
    STATUSES = [(s, s) for s in ("active", "suspended")]

    partner_id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, choices=TYPES)
    tier = models.CharField(max_length=16, choices=TIERS)
    status = models.CharField(max_length=16, choices=STATUSES, default="active")
    entitlements = models.JSONField(default=list)
    quota_limits = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.partner_id


class APICredential(models.Model):
    # The sandbox keeps the secret in plaintext: it must recompute signatures, and it is an emulator.
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="credentials")
    api_key = models.CharField(max_length=64, unique=True)
    api_secret = models.CharField(max_length=128)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.pk)


class Cluster(models.Model):
    cluster_id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=200)
    cloud_provider = models.CharField(max_length=16)
    region = models.CharField(max_length=64)
    status = models.CharField(max_length=16, default="active")
    link_speed_mbps = models.PositiveIntegerField()
    vcpus_total = models.PositiveIntegerField()
    memory_gb_total = models.PositiveIntegerField()

    class Meta:
        ordering = ["cluster_id"]

    def __str__(self) -> str:
        return str(self.pk)


class VM(models.Model):
    STATUSES = [(s, s) for s in ("provisioning", "running", "stopped", "migrating", "error", "deleted")]

    vm_id = models.CharField(max_length=64, primary_key=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="vms")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=STATUSES)
    template = models.CharField(max_length=32)
    cpu_cores = models.PositiveIntegerField()
    memory_gb = models.PositiveIntegerField()
    disk_size_gb = models.PositiveIntegerField()
    network_id = models.CharField(max_length=64)
    cloud_provider = models.CharField(max_length=16)
    region = models.CharField(max_length=64)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="vms")
    ip_address = models.CharField(max_length=45)
    tags = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # When a provisioning VM becomes running (real time; the engine moves it).
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The two list orders of the contract, scoped to a partner (pages stay index-only walks).
            models.Index(fields=["partner", "created_at", "vm_id", "status"], name="vm_partner_created"),
            models.Index(fields=["partner", "updated_at", "vm_id", "status"], name="vm_partner_updated"),
            models.Index(fields=["partner", "status", "created_at"], name="vm_partner_status"),
            models.Index(fields=["partner", "cluster", "created_at"], name="vm_partner_cluster"),
            models.Index(fields=["partner", "region", "created_at"], name="vm_partner_region"),
            models.Index(fields=["status", "ready_at"], name="vm_provisioning_due"),
        ]

    def __str__(self) -> str:
        return str(self.pk)


class Migration(models.Model):
    migration_id = models.CharField(max_length=64, primary_key=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="migrations")
    vm = models.ForeignKey(VM, on_delete=models.CASCADE, related_name="migrations")
    source_cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="+")
    target_cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="+")
    migration_type = models.CharField(max_length=8)
    status = models.CharField(max_length=16, default="pending")
    phase = models.CharField(max_length=32, default="pre_check")
    progress_percentage = models.FloatField(default=0.0)
    bytes_transferred = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    estimated_completion = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    options = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Engine state: the precomputed plan, the VM status to restore, the last progress event (scaled s).
    plan = models.JSONField(default=dict)
    vm_prior_status = models.CharField(max_length=16, default="running")
    last_progress_event_at = models.FloatField(default=-1.0)

    class Meta:
        indexes = [
            models.Index(fields=["partner", "created_at"], name="mig_partner_created"),
            models.Index(fields=["status"], name="mig_status"),
        ]

    def __str__(self) -> str:
        return str(self.pk)


class Integration(models.Model):
    integration_id = models.CharField(max_length=64, primary_key=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16)
    status = models.CharField(max_length=16, default="active")
    config = models.JSONField(default=dict)
    endpoints = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "name"], name="integration_name_per_partner")
        ]

    def __str__(self) -> str:
        return str(self.pk)


class WebhookSubscription(models.Model):
    subscription_id = models.CharField(max_length=64, primary_key=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=1000)
    events = models.JSONField(default=list)
    # Plaintext on purpose: the sandbox signs every delivery with it. Acceptable for an emulator only.
    secret = models.CharField(max_length=256)
    status = models.CharField(max_length=16, default="active")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.pk)


class PlatformEvent(models.Model):
    event_id = models.CharField(max_length=64, primary_key=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "created_at"], name="event_partner_created")]

    def __str__(self) -> str:
        return str(self.pk)


class Delivery(models.Model):
    STATUSES = [(s, s) for s in ("pending", "retrying", "succeeded", "failed")]

    delivery_id = models.CharField(max_length=64, primary_key=True)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(PlatformEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=STATUSES, default="pending")
    attempts_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["subscription", "created_at"], name="delivery_sub_created"),
        ]

    def __str__(self) -> str:
        return str(self.pk)


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    response_status = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    error = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["attempt"]

    def __str__(self) -> str:
        return str(self.pk)


class CustomMetric(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="custom_metrics")
    name = models.CharField(max_length=200)
    value = models.FloatField()
    unit = models.CharField(max_length=32, blank=True, default="")
    timestamp = models.DateTimeField()
    tags = models.JSONField(default=dict)
    resource_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "resource_id", "name", "timestamp"], name="metric_series")]

    def __str__(self) -> str:
        return str(self.pk)


class Alert(models.Model):
    """An open alert; it keeps one alert.critical per resource and metric until it clears."""

    alert_id = models.CharField(max_length=64, primary_key=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="alerts")
    resource_type = models.CharField(max_length=32)
    resource_id = models.CharField(max_length=64)
    metric = models.CharField(max_length=64)
    value = models.FloatField()
    threshold = models.FloatField()
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["resource_id", "metric", "resolved_at"], name="alert_open")]

    def __str__(self) -> str:
        return str(self.pk)


class IdempotencyRecord(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    # Null while the first request with this key is still running (the key is reserved).
    status_code = models.PositiveIntegerField(null=True)
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="idempotency_key_per_partner")]

    def __str__(self) -> str:
        return str(self.pk)


class VMStateChange(models.Model):
    """The sandbox's own record of every VM state change: the ground truth usage reports are checked
    against (the portal never reads it: `python -m sandbox usage-month` reports it beside the events).

    Written wherever a VM's status, size or placement changes (sandbox.core.services.history), with the
    VM as it is from that moment on.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="vm_state_changes")
    vm_id = models.CharField(max_length=64)
    at = models.DateTimeField()
    status = models.CharField(max_length=16)
    cpu_cores = models.PositiveIntegerField()
    memory_gb = models.PositiveIntegerField()
    cloud_provider = models.CharField(max_length=16)
    region = models.CharField(max_length=64)
    cluster_id = models.CharField(max_length=64)
    tags = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["partner", "vm_id", "at"], name="vm_state_change_vm_at")]

    def __str__(self) -> str:
        return f"{self.vm_id} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"
