"""Tenant isolation for the Django admin: staff who are not superusers see only their own partner.

Every ModelAdmin of partner data mixes in `PartnerScopedAdmin` and names the path to the partner
(`partner_path`); the queryset filter then applies to lists, change views, deletes and actions alike,
and an id of another partner is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest


def sees_every_partner(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


class PartnerScopedAdmin(admin.ModelAdmin):
    # The lookup from this model to its Partner's primary key.
    partner_path = "partner"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if sees_every_partner(request):
            return queryset
        partner_id = getattr(request.user, "partner_id", None)
        if partner_id is None:
            return queryset.none()
        return queryset.filter(**{self.partner_path: partner_id})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Model | None:
        # Django redirects to the index with "doesn't exist" for a missing object; for another
        # partner's id we answer a plain 404, as every portal page does.
        obj: Model | None = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj


class ReadOnlyMirrorAdmin(PartnerScopedAdmin):
    """A read-only view of data NovaCron owns: the portal's cache is changed by sync and webhooks only."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
