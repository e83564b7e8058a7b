from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The project package as an app, so its system checks are registered."""

    name = "portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401  (registers the checks)
