"""The bulk-copy phase is `data_sync` (the reference's name) and loads are fractions 0..1.

Migrations accepted before the rename keep running from their stored plan: rename the phase in the
plan and on the row, and turn the plan's load from a percentage into a fraction.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

OLD, NEW = "disk_sync", "data_sync"


def forwards(apps: Any, schema_editor: Any) -> None:
    Migration = apps.get_model("core", "Migration")
    for migration in Migration.objects.all().iterator():
        plan = migration.plan or {}
        for phase in plan.get("phases") or []:
            if phase and phase[0] == OLD:
                phase[0] = NEW
        if float(plan.get("vm_load") or 0.0) > 1.0:
            plan["vm_load"] = plan["vm_load"] / 100.0
        if migration.phase == OLD:
            migration.phase = NEW
        if migration.error:
            migration.error = migration.error.replace(f"{OLD} failed", f"{NEW} failed")
        metrics = dict(migration.metrics or {})
        for name in ("source_vm_load", "target_vm_load"):
            if float(metrics.get(name) or 0.0) > 1.0:
                metrics[name] = round(metrics[name] / 100.0, 3)
        migration.plan, migration.metrics = plan, metrics
        migration.save(update_fields=["plan", "phase", "error", "metrics"])


class Migration(migrations.Migration):
    dependencies = [("core", "0002_idempotency_reservation")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
