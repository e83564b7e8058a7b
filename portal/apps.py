from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The project package as an app: its migrations (the cache table) and its system checks."""

    name = "portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401  (registers the checks)
