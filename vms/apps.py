from __future__ import annotations

from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "vms"
    default_auto_field = "django.db.models.BigAutoField"
