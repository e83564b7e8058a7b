"""The migration planner: for a set of VMs and a target cluster, how long each move takes, its
downtime and convergence risk, the target's capacity after the moves, and the order and wall-clock
time of the whole within `migration_concurrent`.

It knows only what NovaCron reports: the VMs' sizes, the clusters' link speed and capacity, and the
partner's own finished migrations (their durations, bytes and reported rates). Two bases:

- **history**: finished migrations of the same type on similar routes (the same pair of clusters, else
  the same kind of route: within a region, across regions, across clouds). Their durations against
  their bytes are fitted (`seconds = fixed + bytes / rate`), and their bytes against the VMs' disk
  sizes give the share of a disk that is really copied. Reported rates are on NovaCron's own clock,
  so the estimate is too.
- **link**: no such history. The slower of the two clusters' links, cut by a planning share per kind
  of route, carries the memory and half the disk, plus a fixed allowance for checks and switchover.

Convergence (live migrations): pre-copy resends what the guest dirtied while the previous round was
sent, so rounds shrink by dirty rate / transfer rate. That ratio is read from the VM's own past
migrations (both rates as NovaCron reported them, so its clock cancels out); a VM never migrated has
no known ratio and is planned with a modest default, said as "unknown".

`plan()` is pure (plain facts in, a Plan out: the unit tests and bench/planner.py call it directly);
`plan_for()` reads the facts from the portal's cache.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

GIB = 1024**3
# The share of the slower link a migration gets, per kind of route (a planning assumption, only used
# while the partner has no finished migration on a similar route).
ROUTE_SHARE = {"same_region": 0.6, "cross_region": 0.25, "cross_cloud": 0.1}
ROUTE_LABELS = {
    "same_region": "within a region",
    "cross_region": "across regions",
    "cross_cloud": "across clouds",
}
# Pre-check, verification and, cold, shutdown and boot: seconds on top of the copy (link basis).
FIXED_SECONDS = {"live": 30.0, "cold": 75.0}
DISK_COPIED_SHARE = 0.5  # of the disk size, while history says nothing
DEFAULT_DIRTY_RATIO = 0.1
TARGET_DOWNTIME_SECONDS = 0.3
MAX_PRECOPY_ROUNDS = 12
RISK_MEDIUM, RISK_HIGH = 0.5, 0.8
MIN_FIT_POINTS = 3
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class ClusterFacts:
    cluster_id: str
    name: str
    cloud_provider: str
    region: str
    link_speed_mbps: float
    vcpus_total: int = 0
    vcpus_used: int = 0
    memory_gb_total: int = 0
    memory_gb_used: int = 0


@dataclass(frozen=True)
class VMFacts:
    vm_id: str
    name: str
    cluster: str
    cpu_cores: int
    memory_gb: int
    disk_size_gb: int


@dataclass(frozen=True)
class PastMigration:
    """A finished (completed) migration as NovaCron reported it, with the VM's sizes."""

    vm_id: str
    source_cluster: str
    target_cluster: str
    migration_type: str
    seconds: float
    bytes_total: int
    memory_gb: int = 0
    disk_size_gb: int = 0
    dirty_rate_mbps: float = 0.0
    transfer_rate_mbps: float = 0.0


@dataclass
class VMEstimate:
    vm: VMFacts
    route: str
    basis: str  # "history" or "link"
    basis_detail: str
    bytes_estimated: int
    seconds: float
    downtime_seconds: float
    dirty_ratio: float | None  # dirty rate / transfer rate, when known
    risk: str  # "low", "medium", "high" (likely never to converge), "unknown"
    start_offset: float = 0.0
    finish_offset: float = 0.0
    order: int = 0

    @property
    def converges(self) -> bool:
        return self.risk != "high"

    @property
    def duration_text(self) -> str:
        return format_seconds(self.seconds)

    @property
    def downtime_text(self) -> str:
        if self.downtime_seconds < 1:
            return f"{max(1, round(self.downtime_seconds * 1000))} ms"
        return format_seconds(self.downtime_seconds)

    @property
    def start_text(self) -> str:
        return format_seconds(self.start_offset)


@dataclass
class Capacity:
    vcpus_total: int
    vcpus_before: int
    vcpus_after: int
    memory_gb_total: int
    memory_gb_before: int
    memory_gb_after: int

    @property
    def overcommitted(self) -> list[str]:
        over = []
        if self.vcpus_total and self.vcpus_after > self.vcpus_total:
            over.append(f"vCPUs: {self.vcpus_after} of {self.vcpus_total}")
        if self.memory_gb_total and self.memory_gb_after > self.memory_gb_total:
            over.append(f"memory: {self.memory_gb_after} GB of {self.memory_gb_total} GB")
        return over


@dataclass
class Plan:
    target: ClusterFacts
    migration_type: str
    concurrency: int
    estimates: list[VMEstimate] = field(default_factory=list)
    capacity: Capacity | None = None
    total_seconds: float = 0.0
    order_rule: str = "shortest first, likely-not-to-converge last"

    @property
    def refusal(self) -> str:
        over = self.capacity.overcommitted if self.capacity else []
        if over:
            return f"The move would overcommit {self.target.name}: " + "; ".join(over) + "."
        return ""

    @property
    def bases(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for estimate in self.estimates:
            counts[estimate.basis] = counts.get(estimate.basis, 0) + 1
        return counts

    @property
    def total_text(self) -> str:
        return format_seconds(self.total_seconds)

    @property
    def high_risk(self) -> int:
        return sum(1 for e in self.estimates if e.risk == "high")


def route_kind(source: ClusterFacts | None, target: ClusterFacts) -> str:
    if source is None or source.cloud_provider != target.cloud_provider:
        return "cross_cloud"
    return "same_region" if source.region == target.region else "cross_region"


@dataclass(frozen=True)
class _Fit:
    fixed: float  # seconds
    seconds_per_byte: float
    disk_share: float
    rate_mbps: float  # the reported transfer rate (for downtime)
    points: int
    scope: str


def _fit(history: Sequence[PastMigration], *, migration_type: str, scope: str) -> _Fit | None:
    points = [m for m in history if m.seconds > 0 and m.bytes_total > 0]
    if not points:
        return None
    xs = [float(m.bytes_total) for m in points]
    ys = [m.seconds for m in points]
    fixed, slope = 0.0, statistics.median(y / x for x, y in zip(xs, ys, strict=True))
    if len(points) >= MIN_FIT_POINTS and statistics.pvariance(xs) > 0:
        fit_slope, fit_fixed = statistics.linear_regression(xs, ys)
        if fit_slope > 0 and fit_fixed >= 0:
            fixed, slope = fit_fixed, fit_slope
    shares = [
        (m.bytes_total - (m.memory_gb * GIB if migration_type == "live" else 0)) / (m.disk_size_gb * GIB)
        for m in points
        if m.disk_size_gb
    ]
    disk_share = min(1.0, max(0.05, statistics.median(shares))) if shares else DISK_COPIED_SHARE
    rates = [m.transfer_rate_mbps for m in points if m.transfer_rate_mbps > 0]
    rate = statistics.median(rates) if rates else 8 / (slope * 1e6)
    return _Fit(fixed, slope, disk_share, rate, len(points), scope)


def _precopy(memory_bytes: float, rate_bps: float, ratio: float) -> tuple[float, float]:
    """(extra seconds of pre-copy after the first pass, downtime seconds) for a dirty ratio."""
    extra, to_send = 0.0, memory_bytes * ratio
    for _ in range(MAX_PRECOPY_ROUNDS - 1):
        if to_send / rate_bps <= TARGET_DOWNTIME_SECONDS:
            break
        extra += to_send / rate_bps
        to_send *= ratio
    return extra, to_send / rate_bps


def _risk(ratio: float | None) -> str:
    if ratio is None:
        return "unknown"
    if ratio >= RISK_HIGH:
        return "high"
    return "medium" if ratio >= RISK_MEDIUM else "low"


def _dirty_ratios(history: Iterable[PastMigration]) -> dict[str, float]:
    """Each VM's latest known dirty rate / transfer rate (history is newest first)."""
    ratios: dict[str, float] = {}
    for m in history:
        if m.migration_type == "live" and m.transfer_rate_mbps > 0 and m.vm_id not in ratios:
            ratios[m.vm_id] = m.dirty_rate_mbps / m.transfer_rate_mbps
    return ratios


def plan(
    vms: Sequence[VMFacts],
    *,
    target: ClusterFacts,
    clusters: dict[str, ClusterFacts],
    history: Sequence[PastMigration] = (),
    migration_type: str = "live",
    concurrency: int | None = None,
) -> Plan:
    """The plan of moving `vms` to `target`; `history` newest first, `concurrency` the partner's
    `migration_concurrent` (None: unknown, planned one at a time)."""
    slots = max(1, concurrency or 1)
    result = Plan(target=target, migration_type=migration_type, concurrency=slots)
    same_type = [m for m in history if m.migration_type == migration_type][:HISTORY_LIMIT]
    ratios = _dirty_ratios(history)
    last_bytes: dict[str, int] = {}
    for m in same_type:
        last_bytes.setdefault(m.vm_id, m.bytes_total)
    fits: dict[tuple[str, str], _Fit | None] = {}

    def fit_for(source_id: str, route: str) -> _Fit | None:
        key = (source_id, route)
        if key not in fits:
            pair = [
                m for m in same_type if (m.source_cluster, m.target_cluster) == (source_id, target.cluster_id)
            ]
            similar = [
                m
                for m in same_type
                if route_kind(clusters.get(m.source_cluster), _cluster_or(clusters, m)) == route
            ]
            chosen = None
            if len(pair) >= MIN_FIT_POINTS:
                chosen = _fit(pair, migration_type=migration_type, scope="this route")
            fits[key] = chosen or _fit(
                similar, migration_type=migration_type, scope=f"routes {ROUTE_LABELS[route]}"
            )
        return fits[key]

    for vm in vms:
        source = clusters.get(vm.cluster)
        route = route_kind(source, target)
        memory = vm.memory_gb * GIB
        ratio = ratios.get(vm.vm_id)
        fit = fit_for(vm.cluster, route)
        if fit is not None:
            copied = last_bytes.get(vm.vm_id) or (
                (memory if migration_type == "live" else 0) + vm.disk_size_gb * GIB * fit.disk_share
            )
            seconds = fit.fixed + copied * fit.seconds_per_byte
            rate_bps = fit.rate_mbps * 1e6 / 8
            basis = "history"
            detail = f"{fit.points} finished {migration_type} migrations on {fit.scope}"
            # The fit already holds the pre-copy of VMs like these; a known ratio adjusts it.
            extra, downtime = _precopy(memory, rate_bps, ratio if ratio is not None else DEFAULT_DIRTY_RATIO)
            if ratio is not None and migration_type == "live":
                seconds += extra - _precopy(memory, rate_bps, DEFAULT_DIRTY_RATIO)[0]
        else:
            link = min(source.link_speed_mbps if source else target.link_speed_mbps, target.link_speed_mbps)
            rate_bps = max(1.0, link * ROUTE_SHARE[route]) * 1e6 / 8
            copied = last_bytes.get(vm.vm_id) or (
                (memory if migration_type == "live" else 0) + vm.disk_size_gb * GIB * DISK_COPIED_SHARE
            )
            extra, downtime = _precopy(memory, rate_bps, ratio if ratio is not None else DEFAULT_DIRTY_RATIO)
            seconds = (
                FIXED_SECONDS[migration_type] + copied / rate_bps + (extra if migration_type == "live" else 0)
            )
            basis = "link"
            detail = f"{link:.0f} Mbit/s link, {ROUTE_SHARE[route]:.0%} of it {ROUTE_LABELS[route]}"
        if migration_type == "cold":
            downtime = max(0.0, seconds - FIXED_SECONDS["cold"] / 3)  # off from shutdown to boot
        result.estimates.append(
            VMEstimate(
                vm=vm,
                route=route,
                basis=basis,
                basis_detail=detail,
                bytes_estimated=int(copied),
                seconds=max(1.0, seconds),
                downtime_seconds=downtime,
                dirty_ratio=ratio,
                risk=_risk(ratio) if migration_type == "live" else "low",
            )
        )
    _order_and_schedule(result)
    result.capacity = _capacity(target, vms)
    return result


def _cluster_or(clusters: dict[str, ClusterFacts], m: PastMigration) -> ClusterFacts:
    found = clusters.get(m.target_cluster)
    if found is not None:
        return found
    return ClusterFacts(m.target_cluster, m.target_cluster, "", "", 0)


RISK_RANK = {"low": 0, "unknown": 1, "medium": 2, "high": 3}


def _order_and_schedule(result: Plan) -> None:
    result.total_seconds = schedule(result.estimates, result.concurrency)


def schedule(estimates: list[VMEstimate], concurrency: int) -> float:
    """Short first, risky last (sorts `estimates` in place); each into the first free slot of
    `concurrency`. Returns the wall-clock total."""
    estimates.sort(key=lambda e: (RISK_RANK[e.risk], e.seconds, e.vm.name, e.vm.vm_id))
    free_at = [0.0] * max(1, concurrency)
    heapq.heapify(free_at)
    for position, estimate in enumerate(estimates, start=1):
        start = heapq.heappop(free_at)
        estimate.order = position
        estimate.start_offset = start
        estimate.finish_offset = start + estimate.seconds
        heapq.heappush(free_at, estimate.finish_offset)
    return max((e.finish_offset for e in estimates), default=0.0)


def _capacity(target: ClusterFacts, vms: Sequence[VMFacts]) -> Capacity:
    moving = [vm for vm in vms if vm.cluster != target.cluster_id]
    return Capacity(
        vcpus_total=target.vcpus_total,
        vcpus_before=target.vcpus_used,
        vcpus_after=target.vcpus_used + sum(vm.cpu_cores for vm in moving),
        memory_gb_total=target.memory_gb_total,
        memory_gb_before=target.memory_gb_used,
        memory_gb_after=target.memory_gb_used + sum(vm.memory_gb for vm in moving),
    )


# --- the portal's cache as facts ---------------------------------------------------------------


def cluster_facts(cluster: Any) -> ClusterFacts:
    capacity = cluster.capacity or {}
    return ClusterFacts(
        cluster_id=cluster.cluster_id,
        name=cluster.name,
        cloud_provider=cluster.cloud_provider,
        region=cluster.region,
        link_speed_mbps=float(cluster.link_speed_mbps or 0),
        vcpus_total=int(capacity.get("vcpus_total") or 0),
        vcpus_used=int(capacity.get("vcpus_used") or 0),
        memory_gb_total=int(capacity.get("memory_gb_total") or 0),
        memory_gb_used=int(capacity.get("memory_gb_used") or 0),
    )


def vm_facts(vm: Any) -> VMFacts:
    return VMFacts(vm.vm_id, vm.name, vm.cluster, vm.cpu_cores, vm.memory_gb, vm.disk_size_gb)


def plan_for(
    *, partner: Any, vms: Iterable[Any], target: Any, migration_type: str, concurrency: int | None
) -> Plan:
    """The plan from the cache: the partner's clusters, and its completed migrations newest first."""
    clusters, history = planning_facts(partner=partner)
    return plan(
        [vm_facts(vm) for vm in vms],
        target=cluster_facts(target),
        clusters=clusters,
        history=history,
        migration_type=migration_type,
        concurrency=concurrency,
    )


def planning_facts(*, partner: Any) -> tuple[dict[str, ClusterFacts], list[PastMigration]]:
    """The partner's clusters, and its completed migrations newest first, as the planner takes them."""
    from vms.models import VM, Cluster, Migration

    clusters = {c.cluster_id: cluster_facts(c) for c in Cluster.objects.filter(partner=partner)}
    finished = list(
        Migration.objects.filter(
            partner=partner,
            status=Migration.Status.COMPLETED,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .only(
            "source_vm_id", "source_cluster", "target_cluster", "migration_type", "started_at",
            "finished_at", "bytes_total", "metrics", "rate_history",
        )[:HISTORY_LIMIT]
    )  # fmt: skip
    sizes = {
        vm_id: (memory, disk)
        for vm_id, memory, disk in VM.objects.filter(
            partner=partner, vm_id__in={m.source_vm_id for m in finished}
        ).values_list("vm_id", "memory_gb", "disk_size_gb")
    }
    history = [
        PastMigration(
            vm_id=m.source_vm_id,
            source_cluster=m.source_cluster,
            target_cluster=m.target_cluster,
            migration_type=m.migration_type,
            seconds=(m.finished_at - m.started_at).total_seconds(),
            bytes_total=m.bytes_total,
            memory_gb=sizes.get(m.source_vm_id, (0, 0))[0],
            disk_size_gb=sizes.get(m.source_vm_id, (0, 0))[1],
            dirty_rate_mbps=float((m.metrics or {}).get("dirty_rate_mbps") or 0),
            transfer_rate_mbps=_mean_rate(m),
        )
        for m in finished
        if m.started_at and m.finished_at
    ]
    return clusters, history


def _mean_rate(migration: Any) -> float:
    """The transfer rate NovaCron reported while it moved (the median of the samples kept), else what
    it moved over its whole duration, in Mbit/s."""
    samples = [float(s[1]) for s in migration.rate_history or [] if len(s) > 1 and s[1]]
    if samples:
        return statistics.median(samples)
    seconds = (migration.finished_at - migration.started_at).total_seconds()
    if seconds > 0 and migration.bytes_total:
        return float(migration.bytes_total * 8 / seconds / 1e6)
    return float((migration.metrics or {}).get("transfer_rate_mbps") or 0.0)


def format_seconds(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
