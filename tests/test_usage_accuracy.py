"""Usage is accurate: a simulated month of the sandbox, fed to the portal out of order, agrees with the
sandbox's own ground truth of state changes within 1% per cost centre.

The sandbox runs the scripted fleet (`python -m sandbox usage-month`: starts, stops, live and cold
migrations, creations and deletions, every service called with `now=` over October 2026) in a
subprocess on its own database, and prints the webhook payloads of every event it emitted with its
vCPU-hours per cost centre computed from `VMStateChange`. The portal then receives those payloads as
its receiver would store them and processes them the way its worker does, but in a hostile order:
shuffled within windows of a few hours, a share delivered twice and a share applied twice, and four
days of events held back by a worker outage, processed after the rest in random order.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum

from usage.models import DimensionDayUsage
from usage.services import usage_refresh
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_store

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 7
TOLERANCE = 0.01
ROOT = Path(__file__).resolve().parent.parent


def _simulated_month(tmp_path: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "SANDBOX_TIME_SCALE": "1",
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
    }
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "usage-month", "--seed", str(SEED)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(done.stdout))


def _deliver(partner: Any, events: list[dict[str, Any]], rng: random.Random) -> None:
    outage_start, outage_end = "2026-10-10", "2026-10-14"
    held = [e for e in events if outage_start <= e["timestamp"][:10] < outage_end]
    on_time = [e for e in events if not outage_start <= e["timestamp"][:10] < outage_end]
    arrivals: list[dict[str, Any]] = []
    for start in range(0, len(on_time), 30):
        window = on_time[start : start + 30]
        window += rng.sample(window, k=len(window) // 5)  # redelivered: the receiver keeps one
        rng.shuffle(window)
        arrivals += window
    rng.shuffle(held)
    for payload in [*arrivals, *held]:
        receipt = webhook_event_store(partner=partner, payload=payload)
        webhook_event_process(event_pk=receipt.event.pk)
    # Applied twice (a worker killed after applying, before acknowledging): no change.
    again = rng.sample(list(WebhookEvent.objects.filter(partner=partner).values_list("pk", flat=True)), k=100)
    WebhookEvent.objects.filter(pk__in=again).update(status=WebhookEvent.Status.RECEIVED)
    for pk in again:
        webhook_event_process(event_pk=pk)


def test_vcpu_hours_per_cost_centre_match_the_sandboxs_ground_truth(tmp_path: Path) -> None:
    from partners.models import Partner

    month = _simulated_month(tmp_path)
    partner = Partner.objects.create(partner_id=month["partner_id"], name="Usage Co", time_zone="UTC")
    assert len(month["events"]) > 300  # a month of a real fleet, not an empty script

    _deliver(partner, month["events"], random.Random(SEED))
    usage_refresh(partner=partner, now=datetime.fromisoformat(month["month_end"]))

    portal = dict(
        DimensionDayUsage.objects.filter(
            partner=partner, dimension="tag:cost-center", day__range=("2026-10-01", "2026-10-31")
        )
        .values("value")
        .annotate(total=Sum("vcpu_hours"))
        .values_list("value", "total")
    )
    truth = month["vcpu_hours_by_cost_center"]
    assert set(portal) == set(truth)
    errors = {cc: abs(portal[cc] - hours) / hours for cc, hours in truth.items()}
    assert max(errors.values()) <= TOLERANCE, (errors, _vms_that_differ(partner, month))


def _vms_that_differ(partner: Any, month: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """For a failure's message: the VMs whose vCPU-hours differ, portal's against the sandbox's."""
    from usage.models import VMDayUsage

    portal = dict(
        VMDayUsage.objects.filter(partner=partner, day__lt="2026-11-01")
        .values("vm_id")
        .annotate(total=Sum("vcpu_hours"))
        .values_list("vm_id", "total")
    )
    truth = month["vcpu_hours_by_vm"]
    return {
        vm_id: (portal.get(vm_id, 0.0), truth.get(vm_id, 0.0))
        for vm_id in set(portal) | set(truth)
        if abs(portal.get(vm_id, 0.0) - truth.get(vm_id, 0.0)) > 0.01 * max(1.0, truth.get(vm_id, 0.0))
    }
