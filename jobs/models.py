"""Fleet operations: a bulk action over a snapshot of the partner's VMs, run item by item.

A Job keeps the filter it was created from and, as JobItem rows, the ids that matched it then: what
the job acts on never changes after creation, whatever the list shows later.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from partners.models import Partner


def _public_id() -> str:
    return f"job-{uuid.uuid4().hex[:12]}"


class Job(models.Model):
    class Kind(models.TextChoices):
        START = "start"
        STOP = "stop"
        DELETE = "delete"
        MIGRATE = "migrate"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"  # waiting for its start time or its window's next occurrence
        RUNNING = "running"
        FINISHED = "finished"  # every item is done, failed or skipped
        CANCELLED = "cancelled"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="jobs")
    job_id = models.CharField(max_length=32, default=_public_id, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who asked, kept when the person's account is gone.
    created_by_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField()
    # The Idempotency-Key of the form that asked for the job (lib.forms), blank when none.
    form_key = models.CharField(max_length=32, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)
    # The action's options (migrate: target_cluster, migration_type, verify, downtime window).
    parameters = models.JSONField(default=dict, blank=True)
    # The VM list's filter the selection came from ({} for VMs picked one by one).
    filters = models.JSONField(default=dict, blank=True)
    selection = models.CharField(max_length=16, default="filter")  # "filter" or "picked"
    # When it finished or needs attention, the notification says so once.
    notified = models.BooleanField(default=False)
    # A maintenance window (jobs/windows.py): the current or next window's opening and end, in UTC
    # (null: it started when created / has no end), and the rule as entered: its zone, what late
    # items do, and a weekly recurrence ({} for a job that runs at once with no end).
    starts_at = models.DateTimeField(null=True, blank=True)
    finish_by = models.DateTimeField(null=True, blank=True)
    window = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "job_id"], name="job_unique_per_partner"),
            # One job per rendered form: a double click or a resubmitted form finds the first one.
            models.UniqueConstraint(
                fields=["partner", "form_key"], condition=~models.Q(form_key=""), name="job_unique_form_key"
            ),
        ]
        indexes = [models.Index(fields=["partner", "-created_at"], name="job_partner_created")]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.RUNNING

    @property
    def is_open(self) -> bool:
        """Not over yet: running, or scheduled to run (either may be cancelled)."""
        return self.status in (self.Status.RUNNING, self.Status.SCHEDULED)

    @property
    def evacuated_cluster(self) -> str:
        """The cluster an evacuation empties ("" for any other job)."""
        return str(self.parameters.get("source_cluster") or "") if self.kind == self.Kind.MIGRATE else ""

    @property
    def label(self) -> str:
        """What the job does, as lists and titles name it: its kind, or "Evacuate <cluster>"."""
        if self.evacuated_cluster:
            return f"Evacuate {self.evacuated_cluster}"
        return str(self.get_kind_display())


class JobItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        SKIPPED = "skipped"

    FINISHED = (Status.DONE, Status.FAILED, Status.SKIPPED)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    vm_id = models.CharField(max_length=64)
    vm_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Skipped: a short code ("already_stopped", "migrating", "wrong_cloud", "quota", "cancelled", ...)
    # and the sentence shown.
    skip_code = models.CharField(max_length=32, blank=True)
    skip_reason = models.CharField(max_length=300, blank=True)
    # Failed: NovaCron's error as it answered.
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    # Each attempt sends `<key>-<attempt>` as its Idempotency-Key: a worker killed mid-request sends
    # the same key again (NovaCron replays its answer); only a settled refusal moves to a new attempt.
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    attempt = models.IntegerField(default=1)
    migration_id = models.CharField(max_length=64, blank=True)
    # Migrate: this item's own target cluster (an evacuation spreads its VMs); blank when the job's
    # `parameters["target_cluster"]` applies to every item.
    target_cluster = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Position in the snapshot: items run in this order.
    position = models.IntegerField(default=0)
    # The planner's estimate of a migration's duration (null: a fixed allowance, jobs/windows.py),
    # what a maintenance window's "must finish by" is checked against.
    estimated_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["job", "vm_id"], name="jobitem_unique_vm")]
        indexes = [
            models.Index(fields=["job", "status", "position"], name="jobitem_job_status"),
            models.Index(fields=["job", "-finished_at"], name="jobitem_job_finished"),
            models.Index(fields=["migration_id"], name="jobitem_migration"),
        ]

    def __str__(self) -> str:
        return f"{self.vm_id} ({self.status})"

    @property
    def request_key(self) -> str:
        return f"{self.idempotency_key}-{self.attempt}"
