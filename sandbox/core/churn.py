"""Fleet activity on demand: change some of a partner's VMs the way people would, through the services.

Benchmarks and demos of an incremental sync need a known share of the fleet to change between two
syncs. Each change goes through the same lifecycle service the API uses (`vm_stop`, `vm_start`,
`vm_delete`), so it moves `updated_at`, leaves a tombstone and emits its event exactly as a request
would; nothing here writes a VM row by itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.utils import timezone

from sandbox.core.models import VM, Partner
from sandbox.core.services.vms import vm_delete, vm_start, vm_stop


@dataclass
class ChurnReport:
    stopped: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, list[str]]:
        return {"stopped": self.stopped, "started": self.started, "deleted": self.deleted}


def vms_churn(*, partner: Partner, count: int, delete_share: float = 0.1, seed: int = 0) -> ChurnReport:
    """Change `count` VMs of `partner` chosen at random among running and stopped ones.

    About `delete_share` of them are deleted; the others are stopped when running, started when stopped.
    """
    if count < 0 or not 0 <= delete_share <= 1:
        raise ValueError("count must be >= 0 and delete_share within [0, 1]")
    candidates = list(
        VM.objects.filter(partner=partner, status__in=["running", "stopped"])
        .order_by("vm_id")
        .values_list("pk", flat=True)
    )
    rng = random.Random(seed)
    chosen = rng.sample(candidates, min(count, len(candidates)))
    deletions = round(len(chosen) * delete_share)
    report = ChurnReport()
    vms = VM.objects.in_bulk(chosen)
    for position, pk in enumerate(chosen):
        vm, now = vms[pk], timezone.now()
        if position < deletions:
            report.deleted.append(vm_delete(vm=vm, now=now).vm_id)
        elif vm.status == "running":
            report.stopped.append(vm_stop(vm=vm, now=now).vm_id)
        else:
            report.started.append(vm_start(vm=vm, now=now).vm_id)
    return report
