from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import services, tasks  # noqa: F401  (tasks registered in every process)
        from vms.cache import on_migration_finished

        # A finished migration frees a `migration_concurrent` slot: start the next item at once.
        on_migration_finished(services.migration_slot_freed)
