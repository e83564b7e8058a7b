"""Daily usage rollups, computed from `vms.VMStateInterval` by `usage.services` (never written elsewhere).

Days are the partner's own (`Partner.time_zone`). The usage page reads `DimensionDayUsage` and
`UsageDay` (a few rows per day), the CSV export streams `VMDayUsage`; neither reads the intervals.
"""

from __future__ import annotations

from django.db import models

from partners.models import Partner


class VMDayUsage(models.Model):
    """One VM on one day, per size, placement and tag set it had that day (usually one row)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="vm_day_usage")
    day = models.DateField()
    vm_id = models.CharField(max_length=64)
    vm_name = models.CharField(max_length=255, blank=True)
    cloud_provider = models.CharField(max_length=32, blank=True)
    region = models.CharField(max_length=64, blank=True)
    cluster = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    cpu_cores = models.IntegerField(default=0)
    memory_gb = models.IntegerField(default=0)
    vm_hours = models.FloatField(default=0)
    vcpu_hours = models.FloatField(default=0)
    memory_gb_hours = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["partner", "day", "vm_id"], name="usage_vmday_partner_day")]

    def __str__(self) -> str:
        return f"{self.vm_id} on {self.day}: {self.vcpu_hours:.1f} vCPU-hours"


class DimensionDayUsage(models.Model):
    """The day's totals for one value of one breakdown: `cloud`, `region`, `cluster` or `tag:<key>`."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="dimension_day_usage")
    day = models.DateField()
    dimension = models.CharField(max_length=80)
    value = models.CharField(max_length=255)
    vm_hours = models.FloatField(default=0)
    vcpu_hours = models.FloatField(default=0)
    memory_gb_hours = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "dimension", "day", "value"], name="usage_dimension_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension}={self.value} on {self.day}"


class DimensionMonthUsage(models.Model):
    """A month's totals for one value of one breakdown: what the page's table and ranking read."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="dimension_month_usage")
    month = models.DateField(help_text="the month's first day")
    dimension = models.CharField(max_length=80)
    value = models.CharField(max_length=255)
    vm_hours = models.FloatField(default=0)
    vcpu_hours = models.FloatField(default=0)
    memory_gb_hours = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "month", "dimension", "value"], name="usage_dimension_month_unique"
            )
        ]
        indexes = [
            models.Index(fields=["partner", "month", "dimension", "-vcpu_hours"], name="usage_month_ranked")
        ]

    def __str__(self) -> str:
        return f"{self.dimension}={self.value} in {self.month:%Y-%m}"


class UsageDay(models.Model):
    """The day's fleet totals, migrations and creations, and when they were computed."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    vm_hours = models.FloatField(default=0)
    vcpu_hours = models.FloatField(default=0)
    memory_gb_hours = models.FloatField(default=0)
    vms_created = models.IntegerField(default=0)
    migrations = models.IntegerField(default=0)
    migration_gb_moved = models.FloatField(default=0)
    migration_downtime_seconds = models.FloatField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "day"], name="usage_day_unique")]

    def __str__(self) -> str:
        return f"{self.day}: {self.vcpu_hours:.1f} vCPU-hours"


class UsageRefresh(models.Model):
    """Where the partner's rollups stand: intervals recorded up to `recorded_until` are counted."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="usage_refresh")
    refreshed_at = models.DateTimeField()
    recorded_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"usage refreshed at {self.refreshed_at:%Y-%m-%d %H:%M:%S}"
