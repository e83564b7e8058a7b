"""The live outbox in the Django admin, to see what was pushed to a partner's open pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lib.admin_tenancy import ReadOnlyMirrorAdmin, sees_every_partner
from live.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyMirrorAdmin):
    list_display = ("id", "partner", "topic", "audience", "created_at")
    list_filter = ("topic",)
    list_select_related = ("partner",)
    search_fields = ("topic",)
    date_hierarchy = "created_at"

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = tuple(super().get_list_filter(request))
        return (*filters, "partner") if sees_every_partner(request) else filters
