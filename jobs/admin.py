"""Bulk jobs in the Django admin: read-mostly. Jobs and their items are written by the job's own
services (jobs/services.py); the admin lists, filters and searches them, and may cancel a job, the
one change it makes, through the same service as the job page (and audited, like every admin change).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import Count, Model, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from jobs.models import Job, JobItem
from lib.admin_tenancy import PartnerScopedAdmin, sees_every_partner


class JobsAdmin(PartnerScopedAdmin):
    """Nothing added, edited or deleted by hand: what a job did stays as it happened."""

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = tuple(super().get_list_filter(request))
        # Listing partners in a filter would show every partner's name: superusers only.
        return (*filters, "partner") if sees_every_partner(request) else filters

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(JobsAdmin):
    list_select_related = ("partner",)
    list_display = (
        "job_id",
        "partner",
        "kind",
        "status",
        "created_by_email",
        "created_at",
        "finished_at",
        "item_counts",
    )
    list_filter = ("kind", "status", "selection")
    search_fields = ("job_id", "created_by_email")
    date_hierarchy = "created_at"
    fields = (
        "job_id",
        "partner",
        "kind",
        "status",
        "created_by_email",
        "created_at",
        "finished_at",
        "selection",
        "filters",
        "parameters",
        "item_counts",
        "items_link",
    )
    readonly_fields = fields
    actions = ["cancel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        jobs: QuerySet[Any] = super().get_queryset(request)
        counted: QuerySet[Any] = jobs.annotate(
            items_total=Count("items"),
            items_done=Count("items", filter=Q(items__status=JobItem.Status.DONE)),
            items_failed=Count("items", filter=Q(items__status=JobItem.Status.FAILED)),
        )
        return counted

    @admin.display(description="Items")
    def item_counts(self, job: Any) -> str:
        return f"{job.items_done} done, {job.items_failed} failed, of {job.items_total}"

    @admin.display(description="Item rows")
    def items_link(self, job: Job) -> str:
        url = reverse("admin:jobs_jobitem_changelist") + "?" + urlencode({"job__id__exact": job.pk})
        return format_html('<a href="{}">The items of {}</a>', url, job.job_id)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("jobs.change_job"))

    @admin.action(description="Cancel the selected jobs (pending items are skipped)", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        from jobs.services import job_cancel

        # The audit trail records the action once per partner (audit.admin_site): no change log row too.
        cancelled = 0
        for job in queryset.filter(status=Job.Status.RUNNING):
            job_cancel(job=job)
            cancelled += 1
        self.message_user(request, f"{cancelled} running job(s) cancelled.", messages.SUCCESS)


@admin.register(JobItem)
class JobItemAdmin(JobsAdmin):
    partner_path = "job__partner"
    list_display = (
        "vm_id",
        "vm_name",
        "job",
        "status",
        "skip_code",
        "error_code",
        "attempt",
        "migration_id",
        "started_at",
        "finished_at",
    )
    list_select_related = ("job", "job__partner")
    list_filter = ("status", "job__kind", "skip_code")
    search_fields = ("vm_id", "vm_name", "job__job_id", "migration_id", "error_code", "request_id")
    fields = (
        "job",
        "vm_id",
        "vm_name",
        "position",
        "status",
        "skip_code",
        "skip_reason",
        "error_code",
        "error_message",
        "request_id",
        "attempt",
        "migration_id",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = tuple(admin.ModelAdmin.get_list_filter(self, request))
        return (*filters, "job__partner") if sees_every_partner(request) else filters
