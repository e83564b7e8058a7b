from __future__ import annotations

from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "vms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks in every process, not only in workers: code below this app in the
        # import graph queues them by name (partners.operations).
        from vms import tasks  # noqa: F401
