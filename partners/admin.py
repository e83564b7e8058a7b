"""Partners in the Django admin: credentials are write-only and never shown back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from lib.admin_tenancy import PartnerScopedAdmin, sees_every_partner
from partners import operations
from partners.models import Partner, Quota
from partners.services import keep_previous_webhook_secret

CREDENTIAL_FIELDS = ("api_key", "api_secret", "webhook_secret")


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: leave blank to keep the stored value.",
    )


class PartnerAdminForm(forms.ModelForm):
    api_key = _secret_field("API key")
    api_secret = _secret_field("API secret")
    webhook_secret = _secret_field("Webhook secret")

    class Meta:
        model = Partner
        fields = [
            "partner_id",
            "name",
            "type",
            "tier",
            "status",
            "entitlements",
            "quota_limits",
            "time_zone",
            *CREDENTIAL_FIELDS,
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in CREDENTIAL_FIELDS:
            # The stored value must not travel to the page, not even as an initial value.
            self.initial.pop(name, None)
            if name in self.fields and self.instance.pk and getattr(self.instance, name):
                self.fields[
                    name
                ].help_text = "Set. Write-only: leave blank to keep it, type a new value to replace it."

    def _keep_unless_given(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        return value or (getattr(self.instance, name) if self.instance.pk else "")

    def clean_api_key(self) -> str:
        return self._keep_unless_given("api_key")

    def clean_api_secret(self) -> str:
        return self._keep_unless_given("api_secret")

    def clean_webhook_secret(self) -> str:
        return self._keep_unless_given("webhook_secret")


class QuotaInline(admin.TabularInline):
    model = Quota
    extra = 0
    can_delete = False
    fields = ("name", "limit", "used", "remaining", "reset_at", "synced_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(PartnerScopedAdmin):
    partner_path = "pk"
    form = PartnerAdminForm
    inlines = [QuotaInline]
    list_display = (
        "name",
        "partner_id",
        "tier",
        "status",
        "has_credentials",
        "has_webhook_secret",
        "rate_limit_remaining",
        "updated_at",
    )
    list_filter = ("tier", "status")
    search_fields = ("name", "partner_id")
    readonly_fields = (
        "previous_secret_valid_until",
        "rate_limit_limit",
        "rate_limit_remaining",
        "rate_limit_reset",
        "created_at",
        "updated_at",
    )
    actions = ["test_connection", "sync_now"]
    fieldsets = (
        (None, {"fields": ("partner_id", "name", "type", "tier", "status", "entitlements", "quota_limits")}),
        ("Credentials (write-only)", {"fields": (*CREDENTIAL_FIELDS, "previous_secret_valid_until")}),
        (
            "Rate limit (last seen)",
            {"fields": ("rate_limit_limit", "rate_limit_remaining", "rate_limit_reset")},
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(boolean=True, description="API credentials")
    def has_credentials(self, partner: Partner) -> bool:
        return bool(partner.api_key and partner.api_secret)

    @admin.display(boolean=True, description="Webhook secret")
    def has_webhook_secret(self, partner: Partner) -> bool:
        return bool(partner.webhook_secret)

    @admin.display(description="Previous webhook secret accepted until")
    def previous_secret_valid_until(self, partner: Partner) -> Any:
        return partner.previous_webhook_secret_expires_at if partner.previous_webhook_secret else "—"

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not sees_every_partner(request):
            # Staff of a partner manage its credentials, not which NovaCron partner it is.
            readonly += ("partner_id", "tier", "status", "entitlements", "quota_limits")
        return readonly

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_every_partner(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return sees_every_partner(request) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        if change and "webhook_secret" in form.changed_data:
            # Deliveries already signed with the old secret (and NovaCron, until the subscription
            # check writes the new one there) must still verify: keep it for the grace period.
            stored = Partner.objects.get(pk=obj.pk)
            keep_previous_webhook_secret(partner=obj, previous=stored.webhook_secret)
            self.message_user(
                request,
                "New webhook secret saved; the previous one is accepted for 24 hours. "
                "NovaCron receives the new one at the next subscription check.",
                messages.INFO,
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Test connection to NovaCron")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            check = operations.partner_connection_test(partner=partner)
            level = messages.SUCCESS if check.ok else messages.ERROR
            outcome = "connected" if check.ok else "failed"
            self.message_user(request, f"{partner.name}: {outcome}: {check.detail}", level)

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        names = []
        for partner in queryset:
            operations.partner_sync_enqueue(partner=partner)
            names.append(partner.name)
        self.message_user(request, f"Sync queued for {', '.join(names)}.", messages.SUCCESS)
