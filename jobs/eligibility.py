"""Which VMs of a selection a bulk action applies to, and why the others are skipped.

The same rules as the single-VM actions (vms.actions), with a short code per reason so the preview
can count them: already stopped, migrating, wrong cloud, ...
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from vms.actions import vm_state_refusal
from vms.models import VM, Cluster

REASONS: dict[str, str] = {
    "already_running": "Already running.",
    "already_stopped": "Already stopped.",
    "migrating": "Migrating.",
    "provisioning": "Still provisioning.",
    "state": "Its state does not allow it.",
    "wrong_cloud": "On another cloud than the target cluster.",
    "already_there": "Already on the target cluster.",
    "gone": "No longer exists.",
    "quota": "NovaCron's quota refused it.",
    "cancelled": "The job was cancelled.",
    "conflict": "NovaCron refused it in its current state.",
    # An evacuation's VMs that stay where they are (jobs.evacuation).
    "excluded": "Left out of the evacuation.",
    "no_cluster": "No other cluster in the same cloud and region.",
    "no_capacity": "No cluster of the same cloud and region has room for it.",
}


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    code: str = ""
    reason: str = ""


def verdict(kind: str, vm: VM, *, migrating: bool = False, target: Cluster | None = None) -> Verdict:
    """Whether `kind` applies to this VM now; `migrating`: the cache holds an active migration of it."""
    if migrating or vm.status == VM.Status.MIGRATING:
        return Verdict(False, "migrating", REASONS["migrating"])
    if kind == "migrate":
        if vm.status not in (VM.Status.RUNNING, VM.Status.STOPPED):
            return Verdict(False, "state", f"A VM that is {vm.status} cannot be migrated.")
        if target is None:
            return Verdict(False, "gone", "The target cluster is no longer known.")
        if vm.cluster == target.cluster_id:
            return Verdict(False, "already_there", REASONS["already_there"])
        if vm.cloud_provider and vm.cloud_provider != target.cloud_provider:
            return Verdict(
                False,
                "wrong_cloud",
                f"On {vm.cloud_provider}; the target cluster is on {target.cloud_provider}.",
            )
        return Verdict(True)
    refusal = vm_state_refusal(kind, vm)
    if not refusal:
        return Verdict(True)
    if vm.status == VM.Status.PROVISIONING:
        return Verdict(False, "provisioning", REASONS["provisioning"])
    if kind == "start" and vm.status == VM.Status.RUNNING:
        return Verdict(False, "already_running", REASONS["already_running"])
    if kind == "stop" and vm.status == VM.Status.STOPPED:
        return Verdict(False, "already_stopped", REASONS["already_stopped"])
    return Verdict(False, "state", refusal)


@dataclass
class Preview:
    """What a bulk action would do to a selection: counts per outcome and skip reason."""

    total: int = 0
    eligible: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def skipped_reasons(self) -> list[tuple[str, str, int]]:
        return [(code, REASONS.get(code, code), count) for code, count in self.skipped.most_common()]


def preview(
    kind: str, vms: Iterable[VM], *, migrating_ids: set[str], target: Cluster | None = None
) -> Preview:
    result = Preview()
    for vm in vms:
        result.total += 1
        check = verdict(kind, vm, migrating=vm.vm_id in migrating_ids, target=target)
        if check.eligible:
            result.eligible += 1
        else:
            result.skipped[check.code] += 1
    return result
