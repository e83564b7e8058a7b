"""Evacuate a cluster: move every one of the partner's VMs off it, to the clusters of the same cloud
and region that have room, before the cluster's maintenance.

Placement is greedy: the biggest VM first (memory, then vCPUs, then disk), each to the feasible
target with the lowest utilisation after the move (the larger of its vCPU and memory shares), so the
load spreads instead of filling the first cluster named. A VM the person placed themselves goes
first, where they said, even when that overcommits the target: the plan is then refused, as the
migration planner refuses an overcommitting plan. A VM with no feasible target stays, with the
reason. Each move's duration, downtime and risk, and the wall-clock total within
`migration_concurrent`, are the migration planner's (jobs.planner).

`evacuate()` is pure (plain facts in, an Evacuation out); `evacuation_for()` reads the facts from the
portal's cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobs import planner
from jobs.planner import ClusterFacts, PastMigration, VMEstimate, VMFacts

# The choice of a VM's target on the plan: automatic (the greedy's), a cluster id, or left out.
AUTO = ""
EXCLUDE = "exclude"
MIGRATABLE = ("running", "stopped")
# At most this many VMs in one evacuation plan (the page holds a row, and a choice, per VM).
EVACUATE_MAX_VMS = 2000


@dataclass
class Load:
    """A target cluster's vCPUs and memory in use, as the plan fills it."""

    cluster: ClusterFacts
    vcpus_used: int
    memory_gb_used: int
    moving_in: int = 0

    def fits(self, vm: VMFacts, *, already_here: bool = False) -> bool:
        """Whether `vm` fits (`already_here`: its own load is counted in already)."""
        extra_cpu, extra_memory = (0, 0) if already_here else (vm.cpu_cores, vm.memory_gb)
        total = self.cluster
        return (not total.vcpus_total or self.vcpus_used + extra_cpu <= total.vcpus_total) and (
            not total.memory_gb_total or self.memory_gb_used + extra_memory <= total.memory_gb_total
        )

    def utilisation_with(self, vm: VMFacts | None = None) -> float:
        """The larger of the vCPU and memory shares in use, with `vm` moved in (0 when unknown)."""
        cpu = self.vcpus_used + (vm.cpu_cores if vm else 0)
        memory = self.memory_gb_used + (vm.memory_gb if vm else 0)
        shares = [0.0]
        if self.cluster.vcpus_total:
            shares.append(cpu / self.cluster.vcpus_total)
        if self.cluster.memory_gb_total:
            shares.append(memory / self.cluster.memory_gb_total)
        return max(shares)

    def add(self, vm: VMFacts) -> None:
        self.vcpus_used += vm.cpu_cores
        self.memory_gb_used += vm.memory_gb
        self.moving_in += 1

    @property
    def utilisation_before(self) -> float:
        return Load(self.cluster, self.cluster.vcpus_used, self.cluster.memory_gb_used).utilisation_with()

    @property
    def utilisation_after(self) -> float:
        return self.utilisation_with()

    @property
    def percent_before(self) -> int:
        return round(100 * self.utilisation_before)

    @property
    def percent_after(self) -> int:
        return round(100 * self.utilisation_after)

    @property
    def vcpus_free(self) -> int:
        return max(0, self.cluster.vcpus_total - self.vcpus_used)

    @property
    def memory_gb_free(self) -> int:
        return max(0, self.cluster.memory_gb_total - self.memory_gb_used)

    @property
    def overcommitted(self) -> list[str]:
        total, over = self.cluster, []
        if total.vcpus_total and self.vcpus_used > total.vcpus_total:
            over.append(f"vCPUs: {self.vcpus_used} of {total.vcpus_total}")
        if total.memory_gb_total and self.memory_gb_used > total.memory_gb_total:
            over.append(f"memory: {self.memory_gb_used} GB of {total.memory_gb_total} GB")
        return over


@dataclass
class Option:
    """A target the person may choose for a VM, and whether the VM fits there as the plan stands."""

    cluster: ClusterFacts
    fits: bool


@dataclass
class Placement:
    vm: VMFacts
    status: str
    target: ClusterFacts | None = None
    chosen: bool = False  # placed by the person rather than by the greedy
    code: str = ""  # why it stays: "state", "migrating", "no_cluster", "no_capacity", "excluded"
    reason: str = ""
    estimate: VMEstimate | None = None
    options: list[Option] = field(default_factory=list)

    @property
    def moving(self) -> bool:
        return self.target is not None

    @property
    def editable(self) -> bool:
        """Whether the person may place it (its state allows a migration and a target exists)."""
        return bool(self.options)


@dataclass
class Evacuation:
    source: ClusterFacts
    migration_type: str
    concurrency: int
    candidates: list[ClusterFacts]
    placements: list[Placement]  # moving ones in the order they would start, then the ones staying
    loads: list[Load]  # per candidate, after the moves
    total_seconds: float = 0.0
    too_many: int = 0  # VMs on the cluster past EVACUATE_MAX_VMS (the plan then refuses)

    @property
    def moving(self) -> list[Placement]:
        return [p for p in self.placements if p.moving]

    @property
    def staying(self) -> list[Placement]:
        return [p for p in self.placements if not p.moving]

    @property
    def refusal(self) -> str:
        if self.too_many:
            return (
                f"{self.source.name} holds more than {EVACUATE_MAX_VMS} of your VMs: evacuate it in parts "
                "with bulk migrations from the VM list."
            )
        over = [
            f"{load.cluster.name} ({'; '.join(load.overcommitted)})"
            for load in self.loads
            if load.overcommitted
        ]
        if over:
            return "The plan would overcommit " + ", ".join(over) + "."
        return ""

    @property
    def total_text(self) -> str:
        return planner.format_seconds(self.total_seconds)

    @property
    def high_risk(self) -> int:
        return sum(1 for p in self.moving if p.estimate is not None and p.estimate.risk == "high")

    @property
    def targets(self) -> dict[str, str]:
        """vm_id -> target cluster id, for the job's items."""
        return {p.vm.vm_id: p.target.cluster_id for p in self.moving if p.target is not None}

    @property
    def skips(self) -> dict[str, tuple[str, str]]:
        """vm_id -> (code, reason) of the VMs staying, for the job's items."""
        return {p.vm.vm_id: (p.code, p.reason) for p in self.staying}

    @property
    def source_after(self) -> tuple[int, int]:
        """The source's vCPUs and memory in use once the moves are done."""
        return (
            max(0, self.source.vcpus_used - sum(p.vm.cpu_cores for p in self.moving)),
            max(0, self.source.memory_gb_used - sum(p.vm.memory_gb for p in self.moving)),
        )


def _biggest_first(vm: VMFacts) -> tuple[int, int, int, str, str]:
    return (-vm.memory_gb, -vm.cpu_cores, -vm.disk_size_gb, vm.name, vm.vm_id)


def _no_room(vm: VMFacts, source: ClusterFacts, loads: Iterable[Load]) -> str:
    emptiest = min(loads, key=lambda load: (load.utilisation_with(), load.cluster.name))
    return (
        f"No cluster of {source.cloud_provider} {source.region} has room for {vm.cpu_cores} vCPUs and "
        f"{vm.memory_gb} GB: the emptiest, {emptiest.cluster.name}, has {emptiest.vcpus_free} vCPUs and "
        f"{emptiest.memory_gb_free} GB free."
    )


def evacuate(
    vms: Sequence[VMFacts],
    *,
    source: ClusterFacts,
    clusters: Mapping[str, ClusterFacts],
    statuses: Mapping[str, str] | None = None,
    choices: Mapping[str, str] | None = None,
    inactive: Iterable[str] = (),
    history: Sequence[PastMigration] = (),
    migration_type: str = "live",
    concurrency: int | None = None,
) -> Evacuation:
    """The plan of moving `vms` off `source`.

    `statuses`: each VM's status ("migrating" for one with a migration under way; running when not
    given). `choices`: vm_id -> AUTO, EXCLUDE or a candidate's cluster id (the person's edits; any
    other value is AUTO). `inactive`: clusters that take no VM (not active at NovaCron)."""
    statuses, choices = statuses or {}, choices or {}
    skip = set(inactive) | {source.cluster_id}
    candidates = sorted(
        (
            c
            for c in clusters.values()
            if c.cluster_id not in skip
            and (c.cloud_provider, c.region) == (source.cloud_provider, source.region)
        ),
        key=lambda c: (c.name, c.cluster_id),
    )
    loads = {c.cluster_id: Load(c, c.vcpus_used, c.memory_gb_used) for c in candidates}
    ordered = sorted(vms[:EVACUATE_MAX_VMS], key=_biggest_first)
    placements = {vm.vm_id: Placement(vm=vm, status=statuses.get(vm.vm_id, "running")) for vm in ordered}
    open_ = []
    for vm in ordered:
        placement = placements[vm.vm_id]
        if placement.status == "migrating":
            placement.code, placement.reason = "migrating", "A migration of it is under way."
        elif placement.status not in MIGRATABLE:
            placement.code, placement.reason = "state", f"A VM that is {placement.status} cannot be migrated."
        elif not candidates:
            placement.code = "no_cluster"
            placement.reason = f"No other active cluster in {source.cloud_provider} {source.region}."
        else:
            open_.append(vm)
    # The person's own placements first, then the greedy over what is left.
    for vm in open_:
        choice = choices.get(vm.vm_id, AUTO)
        if choice == EXCLUDE:
            placements[vm.vm_id].code, placements[vm.vm_id].reason = "excluded", "Left out of the evacuation."
        elif choice in loads:
            loads[choice].add(vm)
            placements[vm.vm_id].target, placements[vm.vm_id].chosen = loads[choice].cluster, True
    for vm in open_:
        placement = placements[vm.vm_id]
        if placement.code or placement.target is not None:
            continue
        feasible = [load for load in loads.values() if load.fits(vm)]
        if not feasible:
            placement.code, placement.reason = "no_capacity", _no_room(vm, source, loads.values())
            continue
        best = min(feasible, key=lambda load: (load.utilisation_with(vm), load.cluster.name))
        best.add(vm)
        placement.target = best.cluster
    for vm in open_:
        placement = placements[vm.vm_id]
        placement.options = [
            Option(
                load.cluster,
                load.fits(vm, already_here=placement.target is not None and placement.target == load.cluster),
            )
            for load in loads.values()
        ]
    total = _estimate(
        [p for p in placements.values() if p.moving],
        clusters=clusters,
        history=history,
        migration_type=migration_type,
        concurrency=concurrency,
    )
    moving = sorted(
        (p for p in placements.values() if p.moving), key=lambda p: p.estimate.order if p.estimate else 0
    )
    staying = [p for p in placements.values() if not p.moving]
    return Evacuation(
        source=source,
        migration_type=migration_type,
        concurrency=max(1, concurrency or 1),
        candidates=candidates,
        placements=moving + staying,
        loads=list(loads.values()),
        total_seconds=total,
        too_many=max(0, len(vms) - EVACUATE_MAX_VMS),
    )


def _estimate(
    moving: list[Placement],
    *,
    clusters: Mapping[str, ClusterFacts],
    history: Sequence[PastMigration],
    migration_type: str,
    concurrency: int | None,
) -> float:
    """The planner's estimate of each move, per target; then one schedule of them all."""
    by_target: dict[str, list[Placement]] = {}
    for placement in moving:
        assert placement.target is not None
        by_target.setdefault(placement.target.cluster_id, []).append(placement)
    estimates: list[VMEstimate] = []
    for group in by_target.values():
        assert group[0].target is not None
        plan = planner.plan(
            [p.vm for p in group],
            target=group[0].target,
            clusters=dict(clusters),
            history=history,
            migration_type=migration_type,
            concurrency=concurrency,
        )
        found = {estimate.vm.vm_id: estimate for estimate in plan.estimates}
        for placement in group:
            placement.estimate = found[placement.vm.vm_id]
            estimates.append(placement.estimate)
    return planner.schedule(estimates, max(1, concurrency or 1))


# --- the portal's cache as facts ---------------------------------------------------------------


def evacuation_for(
    *,
    partner: Any,
    source: Any,
    vms: Sequence[Any],
    choices: Mapping[str, str],
    migration_type: str,
    concurrency: int | None,
) -> Evacuation:
    """The plan from the cache: `vms` the partner's VMs on `source` (vms.models rows), `concurrency`
    the partner's `migration_concurrent`."""
    from vms.migration_selectors import migration_active_list
    from vms.models import Cluster

    clusters, history = planner.planning_facts(partner=partner)
    inactive = (
        Cluster.objects.filter(partner=partner).exclude(status="active").values_list("cluster_id", flat=True)
    )
    migrating = set(migration_active_list(partner=partner).values_list("source_vm_id", flat=True))
    statuses = {vm.vm_id: "migrating" if vm.vm_id in migrating else vm.status for vm in vms}
    return evacuate(
        [planner.vm_facts(vm) for vm in vms],
        source=clusters.get(source.cluster_id) or planner.cluster_facts(source),
        clusters=clusters,
        statuses=statuses,
        choices=choices,
        inactive=list(inactive),
        history=history,
        migration_type=migration_type,
        concurrency=concurrency,
    )
