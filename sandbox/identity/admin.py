from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from sandbox.identity.models import ScopeConsent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "partner", "role", "is_staff")
    list_filter = ("partner", "role", "is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name")}),
        ("Partner", {"fields": ("partner", "role")}),
        (
            "Sandbox staff",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "partner", "role", "password1", "password2")}),
    )


@admin.register(ScopeConsent)
class ScopeConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "application", "scope", "updated_at")
    search_fields = ("user__email",)
