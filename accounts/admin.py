"""People in the Django admin: partner, role, scopes and token expiry; never a token's value."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from accounts.models import OAuthToken, User
from lib.admin_tenancy import PartnerScopedAdmin, sees_every_partner
from partners.models import Partner


def _staff(request: HttpRequest) -> User:
    # The admin site lets in signed-in staff only (AdminSite.has_permission), never AnonymousUser.
    return cast(User, request.user)


class OAuthTokenInline(admin.StackedInline):
    """What was granted and until when. The token values are not fields here at all."""

    model = OAuthToken
    can_delete = False
    extra = 0
    fields = ("scopes", "expires_at", "token_type", "updated_at")
    readonly_fields = fields
    verbose_name = "NovaCron grant"

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(PartnerScopedAdmin, DjangoUserAdmin):
    inlines = [OAuthTokenInline]
    list_display = (
        "username",
        "email",
        "full_name",
        "partner",
        "role",
        "granted_scopes",
        "token_expires_at",
        "is_staff",
        "is_active",
    )
    list_select_related = ("partner", "oauth_token")
    list_filter = ("role", "is_staff", "is_superuser", "is_active")
    search_fields = ("username", "email", "full_name", "novacron_sub")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("NovaCron", {"fields": ("partner", "role", "novacron_sub", "full_name")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("NovaCron", {"fields": ("email", "partner", "role")}),
    )

    @admin.display(description="Scopes")
    def granted_scopes(self, user: User) -> str:
        token = getattr(user, "oauth_token", None)
        return " ".join(token.scopes) if token is not None else "—"

    @admin.display(description="Token expires", ordering="oauth_token__expires_at")
    def token_expires_at(self, user: User) -> Any:
        token = getattr(user, "oauth_token", None)
        return token.expires_at if token is not None else None

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = tuple(super().get_list_filter(request))
        # The partner filter would list every partner's name: superusers only.
        return (*filters, "partner") if sees_every_partner(request) else filters

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not sees_every_partner(request):
            # No way up: a partner's staff cannot make anyone a superuser or move them to a partner.
            readonly += ("is_superuser", "user_permissions", "groups", "partner", "novacron_sub")
        return readonly

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "partner" and not sees_every_partner(request):
            partner_id = _staff(request).partner_id
            kwargs["queryset"] = (
                Partner.objects.filter(pk=partner_id) if partner_id is not None else Partner.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not sees_every_partner(request):
            obj.partner_id = _staff(request).partner_id
        super().save_model(request, obj, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("partner")


# Groups and permissions belong to no partner: a group's permissions reach every tenant's rows, so
# a partner's staff editing one could grant themselves (or anyone) access across partners.
# Superusers only, whatever model permissions a staff account holds. Permission itself has no
# admin page; users' permissions and groups are read-only for non-superusers (UserAdmin above).
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return sees_every_partner(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return sees_every_partner(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_every_partner(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return sees_every_partner(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return sees_every_partner(request)
