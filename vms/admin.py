"""The fleet cache in the Django admin: read-only mirrors of what NovaCron holds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lib.admin_tenancy import ReadOnlyMirrorAdmin, sees_every_partner
from vms.models import VM, Cluster, Migration, SyncRun


class MirrorAdmin(ReadOnlyMirrorAdmin):
    list_select_related = ("partner",)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = tuple(super().get_list_filter(request))
        # Listing partners in a filter would show every partner's name: superusers only.
        return (*filters, "partner") if sees_every_partner(request) else filters


@admin.register(VM)
class VMAdmin(MirrorAdmin):
    list_display = (
        "name",
        "vm_id",
        "partner",
        "status",
        "cloud_provider",
        "region",
        "cluster",
        "ip_address",
        "updated_at",
    )
    list_filter = ("status", "cloud_provider", "region")
    search_fields = ("vm_id", "name", "ip_address", "cluster")
    date_hierarchy = "created_at"


@admin.register(Migration)
class MigrationAdmin(MirrorAdmin):
    list_display = (
        "migration_id",
        "partner",
        "source_vm_id",
        "vm_name",
        "target_cluster",
        "migration_type",
        "status",
        "phase",
        "progress_percentage",
        "created_at",
    )
    list_filter = ("status", "migration_type", "phase")
    search_fields = ("migration_id", "source_vm_id", "vm_name", "target_cluster")
    date_hierarchy = "created_at"


@admin.register(Cluster)
class ClusterAdmin(MirrorAdmin):
    list_display = ("name", "cluster_id", "partner", "cloud_provider", "region", "status", "link_speed_mbps")
    list_filter = ("cloud_provider", "region", "status")
    search_fields = ("cluster_id", "name")


@admin.register(SyncRun)
class SyncRunAdmin(MirrorAdmin):
    list_display = ("kind", "partner", "status", "started_at", "finished_at", "items", "deleted", "api_calls")
    list_filter = ("kind", "status")
    search_fields = ("error",)
    date_hierarchy = "started_at"
