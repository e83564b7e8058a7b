"""What NovaCron posted to us: accepted events, refused deliveries (without their body), notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from partners.models import Partner


class WebhookEvent(models.Model):
    """One accepted webhook; `event_id` is unique per partner, so a redelivery is a no-op."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        FAILED = "failed"
        IGNORED = "ignored"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_events")
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.IntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "event_id"], name="webhook_event_unique_per_partner")
        ]
        indexes = [
            models.Index(fields=["partner", "-received_at"], name="webhook_event_partner_recv"),
            models.Index(fields=["status", "received_at"], name="webhook_event_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"

    @property
    def processing_ms(self) -> float | None:
        """Milliseconds from receipt to the commit of its processing: how far behind the cache runs."""
        if self.status != self.Status.PROCESSED or self.processed_at is None:
            return None
        return (self.processed_at - self.received_at).total_seconds() * 1000


class WebhookRejection(models.Model):
    """Refused deliveries of one partner (None: an unknown partner id), one reason and one minute.

    Counted, never stored one by one: a refused body was not proven to come from NovaCron, and anyone
    can send one, so the table grows with partners, reasons and minutes, not with what was sent.
    """

    class Reason(models.TextChoices):
        BAD_SIGNATURE = "bad_signature"
        MISSING_SIGNATURE = "missing_signature"
        TOO_LARGE = "too_large"
        MALFORMED = "malformed"
        TOO_OLD = "too_old"
        UNKNOWN_PARTNER = "unknown_partner"

    # How many of the latest source addresses a row keeps.
    ADDRESSES_KEPT = 5

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="webhook_rejections", null=True, blank=True
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    minute = models.DateTimeField(help_text="The start of the minute these refusals fell in.")
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()
    # The latest distinct source addresses, newest first (at most ADDRESSES_KEPT).
    last_addresses = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-minute", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "reason", "minute"],
                condition=models.Q(partner__isnull=False),
                name="webhook_reject_bucket",
            ),
            models.UniqueConstraint(
                fields=["reason", "minute"],
                condition=models.Q(partner__isnull=True),
                name="webhook_reject_bucket_no_partner",
            ),
        ]
        indexes = [models.Index(fields=["partner", "-minute"], name="webhook_reject_partner")]

    def __str__(self) -> str:
        return f"{self.count} {self.reason} in {self.minute:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """Something people must see (a critical alert, a quota hit) until someone acknowledges it."""

    class Kind(models.TextChoices):
        ALERT_CRITICAL = "alert.critical"
        QUOTA_EXCEEDED = "quota.exceeded"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The webhook event it came from: processing the same event twice makes one notification.
    source_event_id = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "source_event_id"], name="notification_unique_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["partner", "acknowledged_at", "-created_at"], name="notification_open")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None
