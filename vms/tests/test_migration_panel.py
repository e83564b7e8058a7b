from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tests.webhook_payloads import BASE_TIME, at, migration_data
from vms.cache import store_migration
from vms.migration_panel import (
    ETA_BELOW_SECONDS,
    build_panel,
    eta_label,
    eta_rounded,
    eta_seconds,
    is_not_converging,
    phase_steps,
    smoothed_rate,
)
from vms.models import Migration


def _migration(**fields: object) -> Migration:
    values: dict[str, object] = {
        "migration_type": "live",
        "status": "in_progress",
        "phase": "data_sync",
        "progress_percentage": 50,
        "bytes_total": 1_000_000_000,
        "bytes_transferred": 500_000_000,
        "metrics": {},
        "rate_history": [],
    }
    values.update(fields)
    return Migration(**values)


def test_the_stepper_marks_done_current_and_upcoming_phases_of_a_live_migration():
    states = {step.name: step.state for step in phase_steps(_migration(phase="memory_precopy"))}
    assert states == {
        "pre_check": "done",
        "data_sync": "done",
        "memory_precopy": "current",
        "switchover": "upcoming",
        "verification": "upcoming",
        "completed": "upcoming",
    }


def test_a_cold_migration_has_its_own_phases_and_a_failure_marks_the_phase_it_stopped_in():
    steps = phase_steps(_migration(migration_type="cold", status="failed", phase="boot"))
    assert [step.name for step in steps] == [
        "pre_check",
        "shutdown",
        "data_sync",
        "boot",
        "verification",
        "completed",
    ]
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
    assert not is_not_converging(
        _migration(phase="memory_precopy", rate_history=[["t1", 500.0, 100.0], *keeping_up[1:]])
    )
    assert not is_not_converging(_migration(phase="data_sync", rate_history=keeping_up))


def test_cancel_is_offered_only_before_switchover():
    assert build_panel(_migration(phase="memory_precopy")).cancellable
    assert not build_panel(_migration(phase="switchover")).cancellable
    assert not build_panel(_migration(status="completed", phase="completed")).cancellable


def test_a_finished_migration_reports_its_duration_and_average_rate():
    now = timezone.now()
    panel = build_panel(
        _migration(
            status="completed",
            phase="completed",
            bytes_transferred=1_000_000_000,
            started_at=now - timedelta(seconds=80),
            finished_at=now,
        )
    )
    assert panel.duration_seconds == 80
    assert panel.average_rate_mbps == 100.0


# --- figures that agree with each other -------------------------------------------------------------

GB = 1_000_000_000


def _steady_statuses(
    *, total: int, rate_mbps: float, noise: float, seconds: int, checking: int = 0
) -> list[dict[str, Any]]:
    """A migration reported once a second as NovaCron sends it: `checking` seconds of pre-check (no bytes,
    rate 0), then data_sync at a steady rate with a little noise."""
    wobble, sent, statuses = random.Random(7), 0.0, []
    end = checking + total * 8 / (rate_mbps * 1e6)
    for second in range(1, seconds + 1):
        moving = second > checking
        rate = rate_mbps * (1 + noise * wobble.uniform(-1, 1)) if moving else 0.0
        sent = min(total, sent + rate * 1e6 / 8)
        statuses.append(migration_data(
            phase="data_sync" if moving else "pre_check", progress=100 * sent / total, updated=second,
            transfer_rate=rate, dirty_rate=0.0, bytes_transferred=int(sent), bytes_total=total,
            estimated_completion=at(end), started_at=at(0),
        ))  # fmt: skip
    return statuses


@pytest.mark.django_db
def test_the_eta_of_a_steady_migration_never_moves_by_more_than_a_fifth_between_updates(partner):
    # From pre-check (NovaCron's estimate) into data_sync (the bytes left over the measured rate).
    statuses = _steady_statuses(total=60 * GB, rate_mbps=1000.0, noise=0.05, seconds=480, checking=10)
    shown = []
    for second, status in enumerate(statuses, start=1):
        migration, _, _ = store_migration(partner=partner, migration=status, from_event=True)
        eta = build_panel(migration, now=parse_datetime(at(second))).eta_seconds
        assert eta is not None
        left = 490 - second
        if eta >= ETA_BELOW_SECONDS:
            shown.append(eta_rounded(eta))
            # What is shown is about what is left, on the same clock as the updates.
            assert abs(eta_rounded(eta) - left) <= 0.2 * left
        else:
            assert left < 2 * ETA_BELOW_SECONDS
    assert len(shown) > 400
    for before, after in pairwise(shown):
        assert abs(after - before) <= 0.2 * before


def test_the_eta_is_rounded_to_a_step_it_can_vouch_for():
    assert [eta_label(s) for s in (None, 12, 47, 61, 200, 26 * 60 + 19, 3 * 3600 + 400)] == [
        "—", "under 30s", "about 45s", "about 1m 00s", "about 3m 30s", "about 26m", "about 3h 05m",
    ]  # fmt: skip


def test_without_a_measured_rate_the_eta_is_novacrons_estimate():
    now = timezone.now()
    migration = _migration(phase="pre_check", estimated_completion=now + timedelta(seconds=61))
    assert build_panel(migration, now=now).eta_seconds == pytest.approx(61)
    # Switchover moves no bytes: the bytes left say nothing about the verification still to come.
    switching = _migration(phase="switchover", bytes_transferred=1_000_000_000, rate_history=[["t", 800.0, 0.0]],
                           estimated_completion=now + timedelta(seconds=14))  # fmt: skip
    assert build_panel(switching, now=now).eta_seconds == pytest.approx(14)


def test_idle_samples_do_not_drag_the_smoothed_rate_down():
    history = [["t1", 0.0, 0.0], ["t2", 0.0, 0.0], ["t3", 400.0, 0.0], ["t4", 400.0, 0.0]]
    panel = build_panel(_migration(rate_history=history, metrics={"transfer_rate_mbps": 400.0}))
    assert panel.smoothed_rate_mbps == 400.0
    assert panel.eta_seconds == 10.0


@pytest.mark.django_db
def test_the_average_rate_is_the_bytes_over_the_duration_on_novacrons_clock(partner):
    total = 60 * GB
    *moving, last = _steady_statuses(total=total, rate_mbps=1000.0, noise=0.05, seconds=480)
    for status in moving:
        store_migration(partner=partner, migration=status, from_event=True)
    finished = {
        **last,
        "status": "completed",
        "phase": "completed",
        "bytes_transferred": total,
        "progress_percentage": 100.0,
        "estimated_completion": None,
        "finished_at": at(490),
        "updated_at": at(490),
    }
    migration, _, _ = store_migration(partner=partner, migration=finished, from_event=True)
    panel = build_panel(migration)
    assert panel.duration_seconds == 490
    assert panel.average_rate_mbps == pytest.approx(total * 8 / 1e6 / 490, rel=0.05)
    live_rates = [sample[1] for sample in migration.rate_history]
    assert panel.average_rate_mbps <= max(live_rates)


def test_a_migration_cancelled_before_it_moved_anything_has_no_average_rate():
    now = timezone.now()
    panel = build_panel(_migration(status="cancelled", phase="pre_check", bytes_transferred=0,
                                   started_at=now - timedelta(seconds=5), finished_at=now))  # fmt: skip
    assert panel.average_rate_mbps is None


@pytest.mark.parametrize(("status", "phase", "downtime", "shown"), [
    ("in_progress", "data_sync", 0, None),
    ("in_progress", "memory_precopy", 0, None),
    ("cancelled", "memory_precopy", 0, None),
    ("in_progress", "switchover", 0, None),
    ("in_progress", "verification", 42, 42.0),
    ("completed", "completed", 42, 42.0),
])  # fmt: skip
def test_downtime_is_shown_only_once_switchover_has_paused_the_vm(status, phase, downtime, shown):
    migration = _migration(status=status, phase=phase, metrics={"downtime_ms": downtime}, migration_id="mig-0001",
                           source_vm_id="vm-0001", target_cluster="cl-aws-usw2-a", started_at=BASE_TIME,
                           finished_at=None if status == "in_progress" else BASE_TIME + timedelta(seconds=60))  # fmt: skip
    assert build_panel(migration).downtime_ms == shown
    html = render_to_string("vms/migrations/_panel.html", {"migration": migration})
    assert ("Downtime" in html) == (shown is not None)


def test_a_cancelled_migration_marks_only_the_phase_it_stopped_in():
    migration = _migration(status="cancelled", phase="memory_precopy", migration_id="mig-0001", source_vm_id="vm-0001",
                           target_cluster="cl-aws-usw2-a", started_at=BASE_TIME,
                           finished_at=BASE_TIME + timedelta(seconds=60))  # fmt: skip
    states = {step.name: step.state for step in phase_steps(migration)}
    assert states == {
        "pre_check": "done",
        "data_sync": "done",
        "memory_precopy": "failed",
        "switchover": "upcoming",
        "verification": "upcoming",
        "completed": "upcoming",
    }
    html = render_to_string("vms/migrations/_panel.html", {"migration": migration})
    assert html.count("✗") == 1 and html.count("✓") == 2
    assert "✗ Memory pre-copy" in html
