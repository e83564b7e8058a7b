"""`{% load migration_panels %}`: the figures of a migration's progress panel."""

from __future__ import annotations

from django import template

from vms.migration_panel import MigrationPanel, build_panel, human_duration
from vms.models import Migration

register = template.Library()


@register.simple_tag
def migration_panel(migration: Migration) -> MigrationPanel:
    """`{% migration_panel migration as panel %}`."""
    return build_panel(migration)


@register.filter
def duration(seconds: float | None) -> str:
    return human_duration(seconds)
