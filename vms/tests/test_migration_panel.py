from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from vms.migration_panel import build_panel, eta_seconds, is_not_converging, phase_steps, smoothed_rate
from vms.models import Migration


def _migration(**fields: object) -> Migration:
    values: dict[str, object] = {"migration_type": "live", "status": "in_progress", "phase": "disk_sync",
                                 "progress_percentage": 50, "bytes_total": 1_000_000_000, "bytes_transferred": 500_000_000,
                                 "metrics": {}, "rate_history": []}
    values.update(fields)
    return Migration(**values)


def test_the_stepper_marks_done_current_and_upcoming_phases_of_a_live_migration():
    states = {step.name: step.state for step in phase_steps(_migration(phase="memory_precopy"))}
    assert states == {"pre_check": "done", "disk_sync": "done", "memory_precopy": "current",
                      "switchover": "upcoming", "verification": "upcoming", "completed": "upcoming"}


def test_a_cold_migration_has_its_own_phases_and_a_failure_marks_the_phase_it_stopped_in():
    steps = phase_steps(_migration(migration_type="cold", status="failed", phase="boot"))
    assert [step.name for step in steps] == ["pre_check", "shutdown", "disk_sync", "boot", "verification", "completed"]
    assert steps[3].state == "failed"


def test_a_completed_migration_has_every_phase_done():
    assert {step.state for step in phase_steps(_migration(status="completed", phase="completed"))} == {"done"}


def test_the_rate_is_smoothed_so_one_spike_does_not_swing_the_eta():
    smoothed = smoothed_rate([100.0, 100.0, 100.0, 1000.0])
    assert smoothed is not None and 100 < smoothed < 400


def test_the_eta_is_the_remaining_bytes_at_the_smoothed_rate():
    # 500 MB left at 400 Mbit/s = 10 s
    assert eta_seconds(_migration(), 400.0) == 10.0
    assert eta_seconds(_migration(), None) is None


def test_precopy_is_flagged_as_not_converging_only_when_dirtying_keeps_up_for_several_samples():
    keeping_up = [["t1", 500.0, 480.0], ["t2", 500.0, 490.0], ["t3", 500.0, 500.0]]
    assert is_not_converging(_migration(phase="memory_precopy", rate_history=keeping_up))
    assert not is_not_converging(_migration(phase="memory_precopy", rate_history=[["t1", 500.0, 100.0], *keeping_up[1:]]))
    assert not is_not_converging(_migration(phase="disk_sync", rate_history=keeping_up))


def test_cancel_is_offered_only_before_switchover():
    assert build_panel(_migration(phase="memory_precopy")).cancellable
    assert not build_panel(_migration(phase="switchover")).cancellable
    assert not build_panel(_migration(status="completed", phase="completed")).cancellable


def test_a_finished_migration_reports_its_duration_and_average_rate():
    now = timezone.now()
    panel = build_panel(_migration(status="completed", phase="completed", bytes_transferred=1_000_000_000,
                                   started_at=now - timedelta(seconds=80), finished_at=now))
    assert panel.duration_seconds == 80
    assert panel.average_rate_mbps == 100.0
