"""Cached migrations take the contract's names: the bulk-copy phase `data_sync`, loads as fractions.

Rows cached before NovaCron took the reference's names say `disk_sync` and hold loads as percentages
(34.7); new answers say `data_sync` and 0.347. Without this, a finished migration cached earlier would
show no phase as reached and a load of 3470 %.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

LOADS = ("source_vm_load", "target_vm_load")


def forwards(apps: Any, schema_editor: Any) -> None:
    Migration = apps.get_model("vms", "Migration")
    Migration.objects.filter(phase="disk_sync").update(phase="data_sync")
    for row in Migration.objects.filter(metrics__isnull=False).only("pk", "metrics").iterator():
        metrics = dict(row.metrics or {})
        changed = {
            name: round(float(metrics[name]) / 100.0, 3)
            for name in LOADS
            if isinstance(metrics.get(name), int | float) and float(metrics[name]) > 1.0
        }
        if changed:
            Migration.objects.filter(pk=row.pk).update(metrics={**metrics, **changed})


class Migration(migrations.Migration):
    dependencies = [("vms", "0006_vm_tombstone")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
