from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks in every process, not only in workers: code below this app in the
        # import graph queues them by name (webhooks.services).
        from webhooks import tasks  # noqa: F401
