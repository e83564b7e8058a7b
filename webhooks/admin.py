"""Received webhooks in the Django admin: events (search, reprocess), refusal counts, notifications."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from lib.admin_tenancy import ReadOnlyMirrorAdmin, sees_every_partner
from webhooks.models import Notification, WebhookEvent, WebhookRejection


class WebhookMirrorAdmin(ReadOnlyMirrorAdmin):
    list_select_related = ("partner",)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = tuple(super().get_list_filter(request))
        return (*filters, "partner") if sees_every_partner(request) else filters


@admin.register(WebhookEvent)
class WebhookEventAdmin(WebhookMirrorAdmin):
    list_display = ("event_id", "event_type", "partner", "status", "received_at", "processing_ms", "attempts")
    list_filter = ("status", "event_type")
    search_fields = ("event_id", "event_type")
    date_hierarchy = "received_at"
    fields = (
        "partner",
        "event_id",
        "event_type",
        "status",
        "error",
        "received_at",
        "processed_at",
        "processing_ms",
        "attempts",
        "pretty_payload",
    )
    readonly_fields = fields
    actions = ["reprocess"]

    @admin.display(description="Payload")
    def pretty_payload(self, event: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    @admin.action(description="Reprocess the selected events")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        from webhooks.services import webhook_event_reprocess

        # Ignored events (unknown types, test deliveries) have nothing to apply.
        events = list(queryset.exclude(status=WebhookEvent.Status.IGNORED))
        for event in events:
            webhook_event_reprocess(event=event)
        self.message_user(request, f"{len(events)} event(s) queued for processing again.", messages.SUCCESS)


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(WebhookMirrorAdmin):
    """Counts of refused deliveries per partner, reason and minute (read-only, like every mirror).

    Counts of an unknown partner id have no partner: only superusers see them.
    """

    list_display = ("minute", "partner", "reason", "count", "addresses", "last_at")
    list_filter = ("reason",)
    date_hierarchy = "minute"
    fields = ("partner", "reason", "minute", "count", "last_at", "addresses")
    readonly_fields = fields

    @admin.display(description="Latest source addresses")
    def addresses(self, rejection: WebhookRejection) -> str:
        return ", ".join(rejection.last_addresses or []) or "—"


@admin.register(Notification)
class NotificationAdmin(WebhookMirrorAdmin):
    list_display = ("title", "partner", "kind", "created_at", "acknowledged_at", "acknowledged_by")
    list_filter = ("kind",)
    search_fields = ("title", "source_event_id", "message")
    date_hierarchy = "created_at"
