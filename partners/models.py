from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models

from lib.fields import EncryptedTextField


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(f"{value!r} is not a time zone name (e.g. Europe/Paris)") from error


class Partner(models.Model):
    """A NovaCron partner: the portal's tenant. Every row of partner data points here."""

    class Tier(models.TextChoices):
        BRONZE = "bronze"
        SILVER = "silver"
        GOLD = "gold"
        PLATINUM = "platinum"

    partner_id = models.CharField(max_length=64, unique=True, help_text="NovaCron's id, e.g. partner-acme")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.BRONZE)
    status = models.CharField(max_length=16, default="active")
    entitlements = models.JSONField(default=list, blank=True)
    quota_limits = models.JSONField(default=dict, blank=True)
    # The IANA zone whose days and months the usage reports count in (`usage/`).
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    # HMAC credentials for background work; encrypted at rest, never shown back.
    api_key = EncryptedTextField(blank=True)
    api_secret = EncryptedTextField(blank=True)
    # Secret NovaCron signs our webhooks with; the previous one is accepted until it expires.
    webhook_secret = EncryptedTextField(blank=True)
    previous_webhook_secret = EncryptedTextField(blank=True)
    previous_webhook_secret_expires_at = models.DateTimeField(null=True, blank=True)

    # The last X-RateLimit-* headers NovaCron sent for this partner's credentials or users.
    rate_limit_limit = models.IntegerField(null=True, blank=True)
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    rate_limit_reset = models.DateTimeField(null=True, blank=True)
    # When NovaCron stopped answering this partner's calls (partners.reachability); empty while it answers.
    novacron_unreachable_since = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.partner_id})"


class Quota(models.Model):
    """The partner's quotas as last synced from NovaCron."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="quotas")
    name = models.CharField(max_length=64)
    limit = models.BigIntegerField()
    used = models.BigIntegerField()
    remaining = models.BigIntegerField()
    reset_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["partner", "name"], name="quota_unique_per_partner")]

    def __str__(self) -> str:
        return f"{self.name}: {self.used}/{self.limit}"

    @property
    def used_ratio(self) -> float:
        return self.used / self.limit if self.limit else 0.0
