"""`{% load migration_panels %}`: the figures of a migration's progress panel."""

from __future__ import annotations

from django import template

from vms.migration_panel import COMPACT_MIGRATIONS_ABOVE, MigrationPanel, build_panel, human_duration
from vms.models import Migration

register = template.Library()


@register.simple_tag
def migration_panel(migration: Migration) -> MigrationPanel:
    """`{% migration_panel migration as panel %}`."""
    return build_panel(migration)


@register.filter
def duration(seconds: float | None) -> str:
    return human_duration(seconds)


@register.simple_tag
def compact_migrations_above() -> int:
    """How many panels a list shows before it turns to compact rows (live-stream.js reloads it then)."""
    return COMPACT_MIGRATIONS_ABOVE
