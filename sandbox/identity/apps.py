from __future__ import annotations

from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "sandbox.identity"
    label = "identity"
    verbose_name = "Identity and OAuth"
    default_auto_field = "django.db.models.BigAutoField"
