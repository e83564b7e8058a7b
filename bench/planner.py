"""Planner bench: the migration planner's duration estimates against what the sandbox's migrations
really took, for the link basis and the history basis apart.

A sandbox (`python -m sandbox serve`, engine on, SANDBOX_TIME_SCALE=TIME_SCALE, on 127.0.0.1) is
seeded; partner-acme's running VMs of mixed sizes (memory 2-32 GB, disk 20-250 GB) on two AWS
routes, one within a region (us-east-1 A -> B) and one across regions (us-west-2 A -> us-east-1 A),
are migrated live in WAVES waves of PER_WAVE at once (within gold's `migration_concurrent` of 10).
Before each wave the planner (`jobs.planner.plan`, pure: the facts are read with the SDK, as
`plan_for` reads them from the portal's cache) estimates every VM of it twice:

- **link basis**: no history; its seconds are on NovaCron's simulated clock (link speeds are the
  clusters' real ones) while the sandbox runs SANDBOX_TIME_SCALE times faster (sandbox/engine/clock.py:
  a migration moves its bytes that much faster than its link), so the estimate is divided by the
  scale before it is compared;
- **history basis**: the partner's finished migrations so far (the earlier waves, as the portal keeps
  them: duration from `started_at` to `finished_at`, bytes, the transfer rates sampled while they
  ran), already on the wall clock. The first wave has none: it is measured on the link basis only.

The actual duration is the migration's own `finished_at - started_at` (what the portal records and
the history fits). Printed: each basis's median and p90 absolute error, and per wave.

Run: `.venv/bin/python bench/planner.py` (about a minute and a half).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "sdk"))

import novacron  # noqa: E402
from novacron.config import SDKConfig  # noqa: E402
from novacron.models import MigrationSpec  # noqa: E402

from bench.timing import percentile  # noqa: E402
from jobs.planner import ClusterFacts, PastMigration, VMFacts, plan  # noqa: E402
from tests.servers import start_sandbox  # noqa: E402

PARTNER = "partner-acme"
TIME_SCALE = 20.0
SEED_VMS = 2000
WAVES = 4
PER_WAVE = 8
ROUTES = [("cl-aws-use1-a", "cl-aws-use1-b"), ("cl-aws-usw2-a", "cl-aws-use1-a")]
GOAL = 0.20
WAVE_TIMEOUT = 120


@dataclass
class Run:
    vm: VMFacts
    target: str
    link_estimate: float
    history_estimate: float | None
    migration_id: str = ""
    rates: list[float] = field(default_factory=list)
    dirty_rate: float = 0.0
    actual: float = 0.0
    bytes_total: int = 0


def _client(sandbox: object) -> novacron.Client:
    credentials = sandbox.credentials[PARTNER]  # type: ignore[attr-defined]
    return novacron.Client(
        SDKConfig(
            base_url=sandbox.url,  # type: ignore[attr-defined]
            partner_id=PARTNER,
            api_key=credentials["api_key"],
            api_secret=credentials["api_secret"],
        )
    )


def _clusters(client: novacron.Client) -> dict[str, ClusterFacts]:
    return {
        c.cluster_id: ClusterFacts(
            cluster_id=c.cluster_id,
            name=c.name,
            cloud_provider=c.cloud_provider,
            region=c.region,
            link_speed_mbps=float(c.link_speed_mbps),
        )
        for c in client.list_clusters()
    }


def _mixed_vms(client: novacron.Client) -> list[tuple[VMFacts, str]]:
    """WAVES x PER_WAVE running VMs of varied sizes, half on each route, each with its target."""
    rng = random.Random(16)
    chosen: list[tuple[VMFacts, str]] = []
    per_route = WAVES * PER_WAVE // len(ROUTES)
    for source, target in ROUTES:
        pool = [
            vm
            for vm in client.iter_vms(status="running", cluster=source)
            if 2 <= vm.memory_gb <= 32
            and 20 <= vm.disk_size_gb <= 250
            and not any(key.startswith("sandbox.") for key in vm.tags or {})
        ]
        # One of each size first, then the rest at random: as mixed as the seed allows.
        by_size: dict[tuple[int, int], list[object]] = {}
        for vm in pool:
            by_size.setdefault((vm.memory_gb, vm.disk_size_gb), []).append(vm)
        picked = [vms[0] for vms in by_size.values()]
        rng.shuffle(picked)
        rest = [vm for vm in pool if vm not in picked]
        rng.shuffle(rest)
        for vm in (picked + rest)[:per_route]:
            facts = VMFacts(vm.vm_id, vm.name, source, vm.cpu_cores, vm.memory_gb, vm.disk_size_gb)  # type: ignore[attr-defined]
            chosen.append((facts, target))
    if len(chosen) < WAVES * PER_WAVE:
        raise SystemExit(f"only {len(chosen)} VMs fit; seed more")
    rng.shuffle(chosen)
    return chosen


def _estimate(
    vm: VMFacts, target: ClusterFacts, clusters: dict[str, ClusterFacts], history: list[PastMigration]
) -> tuple[float, str]:
    estimate = plan([vm], target=target, clusters=clusters, history=history, concurrency=1).estimates[0]
    return estimate.seconds, estimate.basis


def _run_wave(client: novacron.Client, runs: list[Run]) -> None:
    for run in runs:
        spec = MigrationSpec(source_vm_id=run.vm.vm_id, target_cluster=run.target, migration_type="live")
        run.migration_id = client.start_migration(spec).migration_id
    deadline = time.monotonic() + WAVE_TIMEOUT
    open_runs = list(runs)
    while open_runs:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(open_runs)} migrations still running after {WAVE_TIMEOUT} s")
        time.sleep(0.25)
        for run in list(open_runs):
            status = client.get_migration_status(run.migration_id)
            rate = status.metrics.transfer_rate_mbps or 0.0
            if rate > 0:
                run.rates.append(rate)
            run.dirty_rate = status.metrics.dirty_rate_mbps or run.dirty_rate
            if status.is_finished:
                if status.status != "completed" or not (status.started_at and status.finished_at):
                    raise SystemExit(f"{run.migration_id} ended {status.status}: {status.error}")
                run.actual = (status.finished_at - status.started_at).total_seconds()
                run.bytes_total = status.bytes_total
                open_runs.remove(run)


def _past(run: Run) -> PastMigration:
    rate = statistics.median(run.rates) if run.rates else run.bytes_total * 8 / run.actual / 1e6
    return PastMigration(
        vm_id=run.vm.vm_id,
        source_cluster=run.vm.cluster,
        target_cluster=run.target,
        migration_type="live",
        seconds=run.actual,
        bytes_total=run.bytes_total,
        memory_gb=run.vm.memory_gb,
        disk_size_gb=run.vm.disk_size_gb,
        dirty_rate_mbps=run.dirty_rate,
        transfer_rate_mbps=rate,
    )


def _errors(pairs: list[tuple[float, float]]) -> list[float]:
    return [abs(estimate - actual) / actual for estimate, actual in pairs if actual > 0]


def _summary(name: str, errors: list[float]) -> str:
    if not errors:
        return f"{name}: no estimates"
    return (
        f"{name}: {len(errors)} migrations, median error {statistics.median(errors):.1%}, "
        f"p90 {percentile(errors, 0.9):.1%}, worst {max(errors):.1%}"
    )


def main() -> int:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-planner-") as tmpdir:
        sandbox = start_sandbox(
            Path(tmpdir),
            vms=SEED_VMS,
            extra_env={"SANDBOX_TIME_SCALE": str(TIME_SCALE), "SANDBOX_LOG_LEVEL": "WARNING"},
        )
        try:
            client = _client(sandbox)
            clusters = _clusters(client)
            chosen = _mixed_vms(client)
            # The seed's own few migrations finish first, so every slot is the bench's.
            deadline = time.monotonic() + WAVE_TIMEOUT
            while (
                client.list_migrations(status="in_progress").data
                or client.list_migrations(status="pending").data
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("the seed's migrations never finished")
                time.sleep(0.5)
            print(
                f"sandbox ready in {time.perf_counter() - began:.0f} s (time x{TIME_SCALE:g}); "
                f"{len(chosen)} VMs, memory {sorted({vm.memory_gb for vm, _ in chosen})} GB, "
                f"disk {sorted({vm.disk_size_gb for vm, _ in chosen})} GB"
            )
            history: list[PastMigration] = []
            done: list[Run] = []
            for wave in range(WAVES):
                runs = []
                for vm, target in chosen[wave * PER_WAVE : (wave + 1) * PER_WAVE]:
                    link, _ = _estimate(vm, clusters[target], clusters, [])
                    from_history, basis = _estimate(vm, clusters[target], clusters, history)
                    runs.append(
                        Run(vm, target, link / TIME_SCALE, from_history if basis == "history" else None)
                    )
                _run_wave(client, runs)
                done.extend(runs)
                history = [_past(run) for run in reversed(done)]  # newest first
                link_errors = _errors([(r.link_estimate, r.actual) for r in runs])
                history_errors = _errors([(r.history_estimate, r.actual) for r in runs if r.history_estimate])
                print(
                    f"wave {wave + 1}: {len(runs)} migrations of {min(r.actual for r in runs):.1f}-"
                    f"{max(r.actual for r in runs):.1f} s; median error link {statistics.median(link_errors):.1%}"
                    + (
                        f", history {statistics.median(history_errors):.1%}"
                        if history_errors
                        else ", history: none yet"
                    )
                )
        finally:
            sandbox.process.stop()
    link_errors = _errors([(r.link_estimate, r.actual) for r in done])
    history_errors = _errors([(r.history_estimate, r.actual) for r in done if r.history_estimate is not None])
    print(_summary("link basis (scaled by SANDBOX_TIME_SCALE)", link_errors))
    print(_summary("history basis (the partner's finished migrations)", history_errors))
    print(f"total bench time {time.perf_counter() - began:.0f} s")
    median = statistics.median(history_errors) if history_errors else float("inf")
    enough = len(done) >= 20
    print(
        f"target planner_median_error: {median:.1%} (goal <= {GOAL:.0%}, history basis, "
        f"{len(history_errors)} of {len(done)} migrations) {'met' if median <= GOAL and enough else 'missed'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
