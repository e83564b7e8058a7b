"""The audit log in the Django admin: read-only for everyone. Superusers see every partner's rows;
other staff only their own partner's (lib.admin_tenancy)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from audit.models import AuditEntry
from lib.admin_tenancy import PartnerScopedAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(PartnerScopedAdmin):
    list_display = ("created_at", "partner", "actor_label", "action", "object_type", "object_id", "outcome")
    list_filter = ("outcome", "action", "partner")
    search_fields = ("actor_label", "object_id", "action", "novacron_request_id", "request_id")
    date_hierarchy = "created_at"
    # The changelist counts nothing beyond its page: the table is meant to hold millions of rows.
    show_full_result_count = False
    list_select_related = ("partner",)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
