"""Record the webhook events the sandbox emits, for the portal's recorded-payload tests.

    .venv/bin/python scripts/record_sandbox_events.py > vms/tests/recordings/sandbox_events.json

A fresh sandbox database in a temporary directory: a live and a cold migration advanced every 8
simulated seconds (SANDBOX_TIME_SCALE=10) and a VM's lifecycle, each event's payload exactly as the
sandbox delivers it (PlatformEvent rows in emission order). Re-run it when the contract changes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SCALE = 10.0
STEP_SIMULATED_SECONDS = 8.0


def main() -> int:
    scratch = tempfile.mkdtemp(prefix="record-events-")
    os.environ["SANDBOX_DATABASE_URL"] = f"sqlite:///{scratch}/sandbox.sqlite3"
    os.environ["SANDBOX_TIME_SCALE"] = str(SCALE)
    os.environ["DJANGO_SETTINGS_MODULE"] = "sandbox.settings"
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from sandbox.core.models import Cluster, PlatformEvent
    from sandbox.core.serializers import vm_json
    from sandbox.core.services.migrations import migration_advance, migration_create
    from sandbox.core.services.vms import vm_create, vm_delete, vm_start, vm_stop, vms_finish_provisioning
    from sandbox.tests.conftest import VM_SPEC, make_partner, make_vm

    call_command("migrate", verbosity=0)
    wanted = ("cl-aws-use1-a", "cl-aws-usw2-a")
    from sandbox.core.seed import CLUSTERS

    for cid, name, cloud, region, link in CLUSTERS:
        if cid in wanted:
            Cluster.objects.create(cluster_id=cid, name=name, cloud_provider=cloud, region=region,
                                   link_speed_mbps=link, vcpus_total=1000, memory_gb_total=4000)  # fmt: skip
    acme = make_partner("partner-acme", "Acme Corp", "gold")
    source = Cluster.objects.get(cluster_id=wanted[0])

    def new_events(known: set[str]) -> list[dict[str, Any]]:
        # In emission order: SQLite scans a table in insertion order (event ids are random).
        rows = [e for e in PlatformEvent.objects.all() if e.event_id not in known]
        return [
            {"event_id": e.event_id, "event_type": e.event_type, "timestamp": _iso(e.created_at),
             "partner_id": e.partner_id, "data": e.data}
            for e in rows
        ]  # fmt: skip

    recording: dict[str, Any] = {
        "recorded_with": "scripts/record_sandbox_events.py: sandbox.core.services (migration_create, "
        "migration_advance every 8 simulated seconds at SANDBOX_TIME_SCALE=10; vm_create, "
        "vms_finish_provisioning, vm_stop, vm_start, vm_delete), PlatformEvent rows in emission order",
        "clusters": [
            {
                "cluster_id": c.cluster_id,
                "name": c.name,
                "cloud_provider": c.cloud_provider,
                "region": c.region,
            }
            for c in Cluster.objects.filter(cluster_id__in=wanted).order_by("cluster_id")
        ],
    }
    for kind, name in (("live", "rec-live-01"), ("cold", "rec-cold-01")):
        vm = make_vm(acme, source, name=name, memory_gb=4, disk_size_gb=40)
        before = vm_json(vm)
        known = set(PlatformEvent.objects.values_list("event_id", flat=True))
        mark = timezone.now()
        migration = migration_create(
            partner=acme,
            spec={"source_vm_id": vm.vm_id, "target_cluster": wanted[1], "migration_type": kind},
            now=mark,
        )
        second = 0.0
        while migration.status in ("pending", "in_progress"):
            second += STEP_SIMULATED_SECONDS
            moment = migration.created_at + timedelta(seconds=second / SCALE)
            migration = migration_advance(migration=migration, now=moment)
        recording[f"{kind}_migration"] = {"vm_before": before, "events": new_events(known)}

    known = set(PlatformEvent.objects.values_list("event_id", flat=True))
    mark = timezone.now()
    created = vm_create(partner=acme, spec=VM_SPEC, now=mark)
    vms_finish_provisioning(now=mark + timedelta(minutes=5))
    created.refresh_from_db()
    step = mark + timedelta(minutes=6)
    for action in (vm_stop, vm_start, vm_stop, vm_delete):
        created = action(vm=created, now=step)
        step += timedelta(seconds=30)
    recording["vm_lifecycle"] = {"events": new_events(known)}
    sys.stdout.write(_dumps(recording))
    return 0


def _dumps(recording: dict[str, Any]) -> str:
    """One line per event, so a re-recording's diff reads event by event."""
    lines = ["{"]
    for index, (key, value) in enumerate(recording.items()):
        comma = "," if index < len(recording) - 1 else ""
        if isinstance(value, dict) and "events" in value:
            parts = [f'  "{k}": {json.dumps(v)},' for k, v in value.items() if k != "events"]
            events = ",\n".join(f"   {json.dumps(event)}" for event in value["events"])
            lines += [f' "{key}": {{', *parts, '  "events": [', events, "  ]", f" }}{comma}"]
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}{comma}")
    return "\n".join([*lines, "}"]) + "\n"


def _iso(moment: datetime) -> str:
    from sandbox.core.serializers import iso

    return iso(moment) or ""


if __name__ == "__main__":
    raise SystemExit(main())
