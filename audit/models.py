"""The audit log: one row per write a person made through the portal or the Django admin, never changed.

Append-only at three levels: this model refuses to save an existing row or delete one, its queryset
refuses `update()` and `delete()`, and on PostgreSQL a trigger refuses UPDATE always and DELETE unless
the transaction set `audit.pruning` (which only `audit.services.entries_prune` does).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from partners.models import Partner


class AppendOnly(Exception):
    """Raised on any attempt to change or remove an audit row outside retention pruning."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("audit entries are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit entries are removed by retention pruning only")


class AuditEntry(models.Model):
    class Outcome(models.TextChoices):
        SUCCESS = "success", "Done"
        REFUSED_BY_NOVACRON = "refused_novacron", "Refused by NovaCron"
        REFUSED_BY_PORTAL = "refused_portal", "Refused by the portal"
        # NovaCron did not answer, or the portal failed half-way: nobody refused, nothing is known done.
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(default=timezone.now)
    # The log outlives what it names: no database constraint, so neither a partner nor a person can be
    # deleted out from under their history, and deleting them never deletes it.
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Who it was at the time, as text: still readable once the user is gone. Empty for the system.
    actor_label = models.CharField(max_length=254, blank=True)
    actor_role = models.CharField(max_length=16, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    object_link = models.CharField(max_length=300, blank=True)
    # The parameters that matter, named by the action's declaration; never a secret (audit.trail).
    parameters = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    # NovaCron's error code and request id when it refused; the portal's reason when the portal did.
    error_code = models.CharField(max_length=64, blank=True)
    novacron_request_id = models.CharField(max_length=128, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    # The portal's own request id (X-Request-ID), to find the log lines of the same request.
    request_id = models.CharField(max_length=64, blank=True)

    objects: ClassVar[models.Manager[AuditEntry]] = models.Manager.from_queryset(AuditEntryQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The page: newest first, per partner, with or without one filter (keyset on created_at, id).
            models.Index(fields=["partner", "-created_at", "-id"], name="audit_partner_recent"),
            models.Index(fields=["partner", "actor", "-created_at", "-id"], name="audit_partner_actor"),
            models.Index(fields=["partner", "action", "-created_at", "-id"], name="audit_partner_action"),
            models.Index(fields=["partner", "object_id", "-created_at", "-id"], name="audit_partner_object"),
            # Retention pruning, across partners.
            models.Index(fields=["created_at"], name="audit_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id} ({self.outcome})".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("audit entries are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit entries are removed by retention pruning only")
