"""How a migration unfolds, decided once when it starts, and its state at any simulated second.

The plan fixes phase boundaries from the VM's size and the link between the clusters; the state at
elapsed time t is then a pure function of (plan, t), so a controlled clock gives exact answers.
Figures: bytes from memory and used disk, a transfer rate wobbling around the effective link speed
(two sine waves with per-migration phases), memory pre-copy rounds driven by the dirty rate, and a
switchover whose downtime is what is left dirty divided by the rate.
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.engine.metrics_gen import seed_of, unit_interval

GIB = 1024**3
QUEUE_SECONDS = 2.0
TARGET_DOWNTIME_SECONDS = 0.3
MAX_PRECOPY_ROUNDS = 12
TRANSFER_PHASES = ("data_sync", "memory_precopy")
LIVE_PHASES = ("pre_check", "data_sync", "memory_precopy", "switchover", "verification")
COLD_PHASES = ("pre_check", "shutdown", "data_sync", "boot", "verification")
# Cancel is refused once the VM starts moving over for good.
POINT_OF_NO_RETURN = {"live": "switchover", "cold": "boot"}


def effective_link_mbps(source: dict[str, Any], target: dict[str, Any]) -> float:
    """Mean throughput between two clusters: the slower link, cut by distance."""
    link: float = min(source["link_speed_mbps"], target["link_speed_mbps"])
    if source["cloud_provider"] != target["cloud_provider"]:
        return link * 0.1
    if source["region"] != target["region"]:
        return link * 0.25
    return link * 0.6


def build_plan(
    *,
    migration_id: str,
    vm: dict[str, Any],
    source: dict[str, Any],
    target: dict[str, Any],
    migration_type: str,
    verify: bool = True,
) -> dict[str, Any]:
    seed = seed_of(migration_id)
    vm_seed = seed_of(vm["vm_id"], "disk")
    link_mbps = effective_link_mbps(source, target)
    rate_bps = link_mbps * 1e6 / 8
    disk_bytes = int(vm["disk_size_gb"] * GIB * (0.25 + 0.45 * unit_interval(vm_seed, 1)))
    memory_bytes = int(vm["memory_gb"] * GIB)
    tags = vm.get("tags") or {}
    high_dirty = tags.get("sandbox.dirty") == "high"
    dirty_fraction = 0.95 if high_dirty else 0.02 + 0.1 * unit_interval(vm_seed, 2)
    dirty_mbps = round(link_mbps * dirty_fraction, 1)

    durations: dict[str, float] = {"pre_check": 6.0 + 6.0 * unit_interval(seed, 1)}
    rounds: list[list[float]] = []
    downtime_ms = 0
    if migration_type == "live":
        durations["data_sync"] = disk_bytes / rate_bps
        rounds, leftover = _precopy_rounds(memory_bytes, rate_bps, dirty_mbps * 1e6 / 8, high_dirty)
        durations["memory_precopy"] = sum(r[1] for r in rounds)
        downtime_s = leftover / rate_bps + 0.04 + 0.08 * unit_interval(seed, 2)
        downtime_ms = round(downtime_s * 1000)
        durations["switchover"] = max(1.0, downtime_s + 1.0)
        bytes_total = disk_bytes + memory_bytes
    else:
        durations["shutdown"] = 10.0 + 15.0 * unit_interval(seed, 3)
        durations["data_sync"] = disk_bytes / rate_bps
        durations["boot"] = 20.0 + 20.0 * unit_interval(seed, 4)
        bytes_total = disk_bytes
    durations["verification"] = (10.0 + 10.0 * unit_interval(seed, 5)) if verify else 2.0

    phases, clock = [], QUEUE_SECONDS
    for name in LIVE_PHASES if migration_type == "live" else COLD_PHASES:
        phases.append([name, clock, clock + durations[name]])
        clock += durations[name]
    if migration_type == "cold":
        downtime_ms = round((_phase(phases, "boot")[2] - _phase(phases, "shutdown")[1]) * 1000)

    plan: dict[str, Any] = {
        "type": migration_type, "phases": phases, "end": clock, "link_mbps": link_mbps,
        "disk_bytes": disk_bytes, "memory_bytes": memory_bytes, "bytes_total": bytes_total,
        "rounds": rounds, "downtime_ms": downtime_ms, "dirty_mbps": dirty_mbps,
        "wobble": [0.12 + 0.06 * unit_interval(seed, 6), 40 + 80 * unit_interval(seed, 7),
                   2 * math.pi * unit_interval(seed, 8), 0.05 + 0.04 * unit_interval(seed, 9),
                   7 + 9 * unit_interval(seed, 10), 2 * math.pi * unit_interval(seed, 11)],
        "vm_load": 0.15 + 0.45 * unit_interval(vm_seed, 3),  # a fraction 0..1, as in the reference
    }  # fmt: skip
    failure = tags.get("sandbox.fail")
    if failure in ("migration", "pre_check"):
        phase = _phase(phases, "pre_check" if failure == "pre_check" else "data_sync")
        plan["fail_at"] = phase[1] + (phase[2] - phase[1]) * 0.6
        plan["error"] = (
            "pre_check failed: target cluster rejected the VM's CPU feature set"
            if failure == "pre_check"
            else "data_sync failed: target datastore reported an I/O error (tag sandbox.fail=migration)"
        )
    return plan


def _precopy_rounds(
    memory: int, rate: float, dirty: float, high_dirty: bool
) -> tuple[list[list[float]], float]:
    """Rounds of [bytes, seconds]; each resends what was dirtied during the previous one."""
    working_set = memory * (0.6 if high_dirty else 0.3)
    rounds, to_send = [], float(memory)
    for _ in range(MAX_PRECOPY_ROUNDS):
        seconds = to_send / rate
        rounds.append([to_send, seconds])
        to_send = min(working_set, dirty * seconds)
        if to_send / rate <= TARGET_DOWNTIME_SECONDS:
            break
    return rounds, to_send


def _phase(phases: list[list[Any]], name: str) -> list[Any]:
    return next(p for p in phases if p[0] == name)


def _wobble_integral(plan: dict[str, Any], t: float) -> float:
    wobble: list[float] = plan["wobble"]
    a1, p1, f1, a2, p2, f2 = wobble
    return (
        t
        - a1 * p1 / (2 * math.pi) * math.cos(2 * math.pi * t / p1 + f1)
        - a2 * p2 / (2 * math.pi) * math.cos(2 * math.pi * t / p2 + f2)
    )


def rate_factor(plan: dict[str, Any], t: float) -> float:
    wobble: list[float] = plan["wobble"]
    a1, p1, f1, a2, p2, f2 = wobble
    return 1 + a1 * math.sin(2 * math.pi * t / p1 + f1) + a2 * math.sin(2 * math.pi * t / p2 + f2)


def _fraction_sent(plan: dict[str, Any], start: float, end: float, t: float) -> float:
    """Share of a transfer done at t when the rate wobbles but the transfer ends on schedule."""
    if end <= start:
        return 1.0
    whole = _wobble_integral(plan, end) - _wobble_integral(plan, start)
    return min(1.0, max(0.0, (_wobble_integral(plan, t) - _wobble_integral(plan, start)) / whole))


def state_at(plan: dict[str, Any], t: float) -> dict[str, Any]:
    """Status, phase and figures of a migration t simulated seconds after it was accepted."""
    failed = "fail_at" in plan and t >= plan["fail_at"]
    t_eff = min(t, plan["fail_at"]) if failed else min(t, plan["end"])
    if t_eff < QUEUE_SECONDS and not failed:
        return _figures(plan, "pending", "pre_check", t_eff, 0, 0)
    phase = next((p for p in plan["phases"] if p[1] <= t_eff < p[2]), plan["phases"][-1])
    if failed:
        return _figures(plan, "failed", phase[0], t_eff, *_bytes_at(plan, t_eff))
    if t >= plan["end"]:
        return _figures(plan, "completed", "completed", t_eff, plan["bytes_total"], len(plan["rounds"]))
    return _figures(plan, "in_progress", phase[0], t_eff, *_bytes_at(plan, t_eff))


def _bytes_at(plan: dict[str, Any], t: float) -> tuple[int, int]:
    disk = _phase(plan["phases"], "data_sync")
    sent = plan["disk_bytes"] * _fraction_sent(plan, disk[1], disk[2], t)
    iteration = 0
    if plan["type"] == "live":
        clock = _phase(plan["phases"], "memory_precopy")[1]
        for number, (round_bytes, seconds) in enumerate(plan["rounds"], start=1):
            if t < clock:
                break
            iteration = number
            sent += round_bytes * _fraction_sent(plan, clock, clock + seconds, t)
            clock += seconds
    return min(plan["bytes_total"], int(sent)), iteration


def _figures(
    plan: dict[str, Any], status: str, phase: str, t: float, sent: int, iteration: int
) -> dict[str, Any]:
    moving = status == "in_progress" and phase in TRANSFER_PHASES
    switched = status == "completed" or (
        status == "in_progress" and phase in ("switchover", "boot", "verification")
    )
    finished_at = t if status in ("completed", "failed") else None
    elapsed_active = max(0.0, t - QUEUE_SECONDS)
    active_total = plan["end"] - QUEUE_SECONDS
    progress = 100.0 if status == "completed" else min(99.9, 100.0 * elapsed_active / active_total)
    load = plan["vm_load"]
    return {
        "status": status,
        "phase": phase,
        "progress_percentage": round(progress, 2),
        "bytes_transferred": sent,
        "bytes_total": plan["bytes_total"],
        "remaining_seconds": 0.0 if status != "in_progress" and status != "pending" else plan["end"] - t,
        "finished_seconds": finished_at,
        "metrics": {
            "transfer_rate_mbps": round(plan["link_mbps"] * rate_factor(plan, t), 1) if moving else 0.0,
            "source_vm_load": round(min(1.0, load + (0.18 if moving else 0.0)), 3) if not switched else 0.0,
            "target_vm_load": round(load, 3) if switched else (0.04 if moving else 0.0),
            "dirty_rate_mbps": plan["dirty_mbps"] if plan["type"] == "live" and status != "pending" else 0.0,
            "iteration": iteration,
            "downtime_ms": plan["downtime_ms"] if switched and phase != "switchover" else 0,
        },
    }
