"""What a migration's progress panel shows, computed from the cached migration (no API call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from vms.freshness import MIGRATION_PHASES
from vms.models import Migration

LIVE_PHASES = MIGRATION_PHASES["live"]
COLD_PHASES = MIGRATION_PHASES["cold"]
PHASE_LABELS = {
    "pre_check": "Pre-check",
    "data_sync": "Data sync",
    "memory_precopy": "Memory pre-copy",
    "switchover": "Switchover",
    "shutdown": "Shutdown",
    "boot": "Boot",
    "verification": "Verification",
    "completed": "Done",
}
# NovaCron refuses a cancel (409) once these phases begin.
UNCANCELLABLE_PHASES = frozenset({"switchover", "boot", "verification", "completed"})
# Smoothing of the transfer rate for the ETA: recent samples weigh more, one spike does not swing it.
EWMA_ALPHA = 0.3
# Phases that move bytes: only there does bytes-remaining-over-rate say when the migration ends.
TRANSFER_PHASES = frozenset({"data_sync", "memory_precopy"})
# NovaCron reports a downtime once it has one: from switchover on (a live migration's pause).
DOWNTIME_FROM_PHASE = "switchover"
# How the ETA is rounded: (below this many seconds, to a multiple of this many). Each step is at most
# a sixth of the smallest value it rounds to, so a steady migration's ETA never moves by more than that
# between two updates, and the value shown is as precise as it claims to be.
ETA_BELOW_SECONDS = 30
ETA_STEPS = ((60, 5), (180, 10), (600, 30), (3600, 60))
ETA_STEP_ABOVE = 300
# Pre-copy does not converge when the guest dirties memory about as fast as we copy it.
NOT_CONVERGING_RATIO = 0.9
NOT_CONVERGING_SAMPLES = 3
SPARKLINE_WIDTH, SPARKLINE_HEIGHT = 160, 32
# Past this many active migrations a page lists them as compact rows (`_row.html`) instead of panels:
# four panels already fill a screen, and the rows keep each one's figures in one line.
COMPACT_MIGRATIONS_ABOVE = 3


@dataclass(frozen=True)
class PhaseStep:
    name: str
    label: str
    state: str  # done | current | upcoming | failed


@dataclass
class MigrationPanel:
    migration: Migration
    phases: list[PhaseStep] = field(default_factory=list)
    transfer_rate_mbps: float | None = None
    smoothed_rate_mbps: float | None = None
    eta_seconds: float | None = None  # the estimate itself; eta_label is what is shown
    dirty_rate_mbps: float | None = None
    not_converging: bool = False
    iteration: int | None = None
    downtime_ms: float | None = None
    source_vm_load: float | None = None
    target_vm_load: float | None = None
    elapsed_seconds: float | None = None
    duration_seconds: float | None = None
    average_rate_mbps: float | None = None
    sparkline_points: str = ""
    cancellable: bool = False

    @property
    def percent(self) -> int:
        """NovaCron's whole-percent progress of the whole plan (every phase, timed)."""
        return int(max(0.0, min(100.0, self.migration.progress_percentage)))

    @property
    def transferred_percent(self) -> float | None:
        """The finer figure: bytes moved over bytes to move, which NovaCron's whole percent cannot show."""
        total = self.migration.bytes_total
        if not total:
            return None
        return max(0.0, min(100.0, 100.0 * self.migration.bytes_transferred / total))

    @property
    def source_load_percent(self) -> float | None:
        return load_percent(self.source_vm_load)

    @property
    def target_load_percent(self) -> float | None:
        return load_percent(self.target_vm_load)

    @property
    def eta_label(self) -> str:
        return eta_label(self.eta_seconds)

    @property
    def phase_label(self) -> str:
        phase = "completed" if self.migration.status == Migration.Status.COMPLETED else self.migration.phase
        return PHASE_LABELS.get(phase, phase)


def load_percent(load: float | None) -> float | None:
    """A VM load as shown (percent) from NovaCron's fraction 0..1."""
    return None if load is None else float(load) * 100.0


def shows_compact_rows(active_count: int) -> bool:
    """Whether a page lists this many active migrations as rows rather than panels."""
    return active_count > COMPACT_MIGRATIONS_ABOVE


def _phase_names(migration: Migration) -> tuple[str, ...]:
    return COLD_PHASES if migration.migration_type == "cold" else LIVE_PHASES


def phase_steps(migration: Migration) -> list[PhaseStep]:
    """Done before the phase the migration is in, then that phase (failed if it stopped there), then upcoming.

    A failed or cancelled migration keeps the phase it stopped in (the contract), so only that one is
    marked failed: the phases before it were completed, the ones after it never began.
    """
    names = _phase_names(migration)
    completed = migration.status == Migration.Status.COMPLETED
    current = "completed" if completed else migration.phase
    position = names.index(current) if current in names else -1
    stopped = migration.status in (Migration.Status.FAILED, Migration.Status.CANCELLED)
    steps = []
    for index, name in enumerate(names):
        if index < position or (completed and index == position):
            state = "done"
        elif index == position:
            state = "failed" if stopped else "current"
        else:
            state = "upcoming"
        steps.append(PhaseStep(name=name, label=PHASE_LABELS.get(name, name), state=state))
    return steps


def smoothed_rate(rates: list[float]) -> float | None:
    """Exponentially weighted moving average of the transfer rate samples (oldest first)."""
    smoothed: float | None = None
    for rate in rates:
        smoothed = rate if smoothed is None else EWMA_ALPHA * rate + (1 - EWMA_ALPHA) * smoothed
    return smoothed


def measured_rates(migration: Migration) -> list[float]:
    """The transfer rates NovaCron reported while bytes were moving (oldest first); idle phases report 0."""
    return [float(s[1]) for s in (migration.rate_history or []) if len(s) >= 2 and s[1] and float(s[1]) > 0]


def eta_seconds(migration: Migration, rate_mbps: float | None) -> float | None:
    """Seconds to move the remaining bytes at the smoothed rate (Mbit/s = 10^6 bits per second)."""
    if not rate_mbps or rate_mbps <= 0 or not migration.bytes_total:
        return None
    remaining = max(0, migration.bytes_total - migration.bytes_transferred)
    return remaining * 8 / (rate_mbps * 1_000_000)


def is_not_converging(migration: Migration) -> bool:
    """The last few pre-copy samples all had the dirty rate keeping up with the transfer rate."""
    if migration.migration_type != "live" or migration.phase != "memory_precopy" or not migration.is_active:
        return False
    recent = [s for s in (migration.rate_history or []) if len(s) >= 3][-NOT_CONVERGING_SAMPLES:]
    if len(recent) < NOT_CONVERGING_SAMPLES:
        return False
    return all(s[1] > 0 and s[2] >= NOT_CONVERGING_RATIO * s[1] for s in recent)


def estimated_seconds_left(migration: Migration, *, now: datetime) -> float | None:
    """While bytes move: the bytes left over the smoothed measured rate; otherwise NovaCron's estimate.

    NovaCron's `estimated_completion` also covers the phases that move no bytes (pre-check, switchover,
    verification), which the bytes cannot tell; it is also the answer when no rate was measured yet.
    """
    if migration.phase in TRANSFER_PHASES and migration.bytes_transferred < migration.bytes_total:
        current = float((migration.metrics or {}).get("transfer_rate_mbps") or 0.0)
        measured = eta_seconds(migration, smoothed_rate(measured_rates(migration)) or current)
        if measured is not None:
            return measured
    if migration.estimated_completion is None:
        return None
    return max(0.0, (migration.estimated_completion - now).total_seconds())


def eta_rounded(seconds: float) -> int:
    step = next((step for below, step in ETA_STEPS if seconds < below), ETA_STEP_ABOVE)
    return round(seconds / step) * step


def eta_label(seconds: float | None) -> str:
    """The ETA as shown: rounded to a step that grows with it (ETA_STEPS), so it does not flicker."""
    if seconds is None:
        return "—"
    if seconds < ETA_BELOW_SECONDS:
        return f"under {ETA_BELOW_SECONDS}s"
    rounded = eta_rounded(seconds)
    if 600 <= rounded < 3600:
        return f"about {rounded // 60}m"
    return f"about {human_duration(rounded)}"


def shown_downtime_ms(migration: Migration) -> float | None:
    """A live migration's downtime, once there has been one: before switchover NovaCron's 0 means "not yet"."""
    downtime = (migration.metrics or {}).get("downtime_ms")
    if migration.migration_type == "cold" or downtime is None:
        return None
    names = _phase_names(migration)
    phase = "completed" if migration.status == Migration.Status.COMPLETED else migration.phase
    if phase not in names or names.index(phase) < names.index(DOWNTIME_FROM_PHASE):
        return None
    if phase == DOWNTIME_FROM_PHASE and not downtime:
        return None  # still switching over: the pause is not measured yet
    return float(downtime)


def sparkline(rates: list[float]) -> str:
    """SVG polyline points for the recent rates, scaled to the panel's small chart (server-side, CSP-safe)."""
    if len(rates) < 2:
        return ""
    top = max(rates) or 1.0
    step = SPARKLINE_WIDTH / (len(rates) - 1)
    return " ".join(
        f"{index * step:.1f},{SPARKLINE_HEIGHT - (rate / top) * (SPARKLINE_HEIGHT - 2) - 1:.1f}"
        for index, rate in enumerate(rates)
    )


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def build_panel(migration: Migration, *, now: datetime | None = None) -> MigrationPanel:
    now = now or timezone.now()
    metrics = migration.metrics or {}
    rates = [float(s[1]) for s in (migration.rate_history or []) if len(s) >= 2]
    panel = MigrationPanel(migration=migration, phases=phase_steps(migration))
    panel.transfer_rate_mbps = metrics.get("transfer_rate_mbps")
    panel.dirty_rate_mbps = metrics.get("dirty_rate_mbps")
    panel.iteration = metrics.get("iteration")
    panel.downtime_ms = shown_downtime_ms(migration)
    panel.source_vm_load = metrics.get("source_vm_load")
    panel.target_vm_load = metrics.get("target_vm_load")
    panel.sparkline_points = sparkline(rates)
    if migration.is_active:
        panel.smoothed_rate_mbps = smoothed_rate(measured_rates(migration)) or panel.transfer_rate_mbps
        panel.eta_seconds = estimated_seconds_left(migration, now=now)
        panel.elapsed_seconds = _seconds_between(migration.started_at, now)
        panel.not_converging = is_not_converging(migration)
        panel.cancellable = migration.phase not in UNCANCELLABLE_PHASES
    else:
        # Bytes over the duration, both from NovaCron's clock; a completed migration moved them all.
        panel.duration_seconds = _seconds_between(migration.started_at, migration.finished_at)
        moved = migration.bytes_transferred
        if migration.status == Migration.Status.COMPLETED:
            moved = moved or migration.bytes_total
        if panel.duration_seconds and moved:
            panel.average_rate_mbps = moved * 8 / panel.duration_seconds / 1_000_000
    return panel


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    value = timedelta(seconds=total)
    hours, rest = divmod(value.seconds + value.days * 86400, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
