"""A scripted fleet for one simulated month, for checking usage reports against the sandbox's ground truth.

Time is driven, not waited for: every service takes `now=`, and the engine is stepped every
`STEP_MINUTES` of the month. The result holds the webhook payloads NovaCron would have sent (every
platform event, in the order they happened) and the ground truth computed from `VMStateChange`:
vCPU-hours per `cost-center` tag, counting the time a VM was `running` or `migrating`.

`python -m sandbox usage-month --seed N` prints it as JSON (on an empty sandbox database).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.core.models import VM, Cluster, Partner, PlatformEvent, VMStateChange
from sandbox.core.services.events import webhook_payload
from sandbox.core.services.migrations import migration_create, migrations_advance_all
from sandbox.core.services.vms import vm_create, vm_delete, vm_start, vm_stop, vms_finish_provisioning

MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 11, 1, tzinfo=UTC)
STEP_MINUTES = 10
PARTNER_ID = "partner-usage"
COST_CENTERS = ("cc-101", "cc-202", "cc-303", "cc-404")
BILLABLE = ("running", "migrating")
CLUSTERS = [
    ("cl-usage-aws-a", "aws", "us-east-1"),
    ("cl-usage-aws-b", "aws", "us-east-1"),
    ("cl-usage-gcp-a", "gcp", "europe-west1"),
]


def _setup() -> Partner:
    partner, _ = Partner.objects.get_or_create(
        partner_id=PARTNER_ID,
        defaults={
            "name": "Usage Co",
            "type": "reseller",
            "tier": "platinum",
            "quota_limits": {"vm_create_per_day": 1000, "migration_concurrent": 100},
        },
    )
    for cluster_id, cloud, region in CLUSTERS:
        Cluster.objects.get_or_create(
            cluster_id=cluster_id,
            defaults={
                "name": cluster_id,
                "cloud_provider": cloud,
                "region": region,
                "link_speed_mbps": 10000,
                "vcpus_total": 10000,
                "memory_gb_total": 40000,
            },
        )
    return partner


def _spec(rng: random.Random, n: int) -> dict[str, Any]:
    cluster_id, cloud, region = rng.choice(CLUSTERS)
    return {
        "name": f"usage-{n:03d}",
        "template": "ubuntu-24.04",
        "cpu_cores": rng.choice([1, 2, 4, 8]),
        "memory_gb": rng.choice([2, 4, 8, 16]),
        "disk_size_gb": 20,
        "network_id": "net-default",
        "cloud_provider": cloud,
        "region": region,
        "cluster": cluster_id,
        "tags": {"cost-center": rng.choice(COST_CENTERS), "env": rng.choice(["prod", "dev"])},
    }


def _act(rng: random.Random, partner: Partner, now: datetime, created: list[int]) -> None:
    vms = list(VM.objects.filter(partner=partner).exclude(status="deleted"))
    roll = rng.random()
    if roll < 0.02 or len(vms) < 12:
        created[0] += 1
        vm_create(partner=partner, spec=_spec(rng, created[0]), now=now)
        return
    vm = rng.choice(vms)
    if roll < 0.10 and vm.status == "running":
        vm_stop(vm=vm, now=now)
    elif roll < 0.18 and vm.status == "stopped":
        vm_start(vm=vm, now=now)
    elif roll < 0.21 and vm.status in ("running", "stopped"):
        target = rng.choice([c for c, _, _ in CLUSTERS if c != vm.cluster_id])
        migration_create(
            partner=partner,
            spec={
                "source_vm_id": vm.vm_id,
                "target_cluster": target,
                "migration_type": rng.choice(["live", "cold"]),
            },
            now=now,
        )
    elif roll < 0.225 and vm.status in ("running", "stopped"):
        vm_delete(vm=vm, now=now)


def truth(partner: Partner, start: datetime, end: datetime, *, key: str = "cost-center") -> dict[str, float]:
    """vCPU-hours per cost centre (or per VM, `key="vm_id"`) from the state changes alone."""
    hours: dict[str, float] = defaultdict(float)
    changes = VMStateChange.objects.filter(partner=partner).order_by("vm_id", "at", "pk")
    by_vm: dict[str, list[VMStateChange]] = defaultdict(list)
    for change in changes:
        by_vm[change.vm_id].append(change)
    for states in by_vm.values():
        for change, following in zip(states, [*states[1:], None], strict=True):
            until = min(following.at if following else end, end)
            seconds = (until - max(change.at, start)).total_seconds()
            if change.status in BILLABLE and seconds > 0:
                label = change.vm_id if key == "vm_id" else change.tags.get(key, "(none)")
                hours[label] += seconds * change.cpu_cores / 3600
    return dict(hours)


def run(*, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    partner = _setup()
    created = [0]
    now = MONTH_START
    step = timedelta(minutes=STEP_MINUTES)
    while now < MONTH_END:
        if rng.random() < 0.25:
            _act(rng, partner, now, created)
        vms_finish_provisioning(now=now)
        migrations_advance_all(now=now)
        now += step
    events = PlatformEvent.objects.filter(partner_id=PARTNER_ID).order_by("created_at", "pk")
    return {
        "partner_id": PARTNER_ID,
        "month_start": MONTH_START.isoformat(),
        "month_end": MONTH_END.isoformat(),
        "events": [webhook_payload(event) for event in events],
        "vcpu_hours_by_cost_center": truth(partner, MONTH_START, MONTH_END),
        "vcpu_hours_by_vm": truth(partner, MONTH_START, MONTH_END, key="vm_id"),
    }
