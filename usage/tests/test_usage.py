"""Usage from intervals: hours per day in the partner's zone, breakdowns, the page and its CSV, tenancy."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client

from usage.models import DimensionDayUsage, UsageDay, VMDayUsage
from usage.services import usage_refresh
from vms.cache import store_vm

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _vm(
    vm_id: str, status: str, at: datetime, *, cpu: int = 4, cost_center: str = "cc-1", **extra: Any
) -> dict[str, Any]:
    return {
        "vm_id": vm_id,
        "name": vm_id,
        "status": status,
        "cpu_cores": cpu,
        "memory_gb": 8,
        "cloud_provider": "aws",
        "region": "us-east-1",
        "cluster": "cl-a",
        "tags": {"cost-center": cost_center, "env": "prod"},
        "created_at": datetime(2026, 11, 1, tzinfo=UTC).isoformat(),
        "updated_at": at.isoformat(),
        **extra,
    }


def _day(partner: Any, day: date) -> UsageDay:
    return UsageDay.objects.get(partner=partner, day=day)


def test_running_hours_are_counted_per_day_times_size(partner: Any) -> None:
    store_vm(partner=partner, vm=_vm("vm-1", "running", datetime(2026, 11, 10, 22, tzinfo=UTC)))
    store_vm(partner=partner, vm=_vm("vm-1", "stopped", datetime(2026, 11, 11, 4, tzinfo=UTC)))

    usage_refresh(partner=partner, now=NOW)

    assert _day(partner, date(2026, 11, 10)).vcpu_hours == pytest.approx(2 * 4)
    assert _day(partner, date(2026, 11, 11)).vcpu_hours == pytest.approx(4 * 4)
    assert _day(partner, date(2026, 11, 11)).memory_gb_hours == pytest.approx(4 * 8)
    assert _day(partner, date(2026, 11, 12)).vm_hours == 0


def test_days_follow_the_partners_time_zone(partner: Any) -> None:
    partner.time_zone = "America/New_York"  # UTC-5 in November
    partner.save()
    store_vm(partner=partner, vm=_vm("vm-1", "running", datetime(2026, 11, 10, 22, tzinfo=UTC)))
    store_vm(partner=partner, vm=_vm("vm-1", "stopped", datetime(2026, 11, 11, 4, tzinfo=UTC)))

    usage_refresh(partner=partner, now=NOW)

    # 22:00-04:00 UTC is 17:00-23:00 in New York: all of it on the 10th.
    assert _day(partner, date(2026, 11, 10)).vm_hours == pytest.approx(6)
    assert _day(partner, date(2026, 11, 11)).vm_hours == 0


def test_breakdowns_add_up_and_a_vm_without_the_tag_is_none(partner: Any) -> None:
    start, stop = datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 5, 10, tzinfo=UTC)
    store_vm(partner=partner, vm=_vm("vm-1", "running", start, cost_center="cc-1"))
    store_vm(partner=partner, vm=_vm("vm-2", "running", start, cpu=2, cost_center="cc-2"))
    store_vm(partner=partner, vm={**_vm("vm-3", "running", start, cpu=1), "tags": {}})
    for vm_id, cpu in (("vm-1", 4), ("vm-2", 2), ("vm-3", 1)):
        store_vm(partner=partner, vm=_vm(vm_id, "stopped", stop, cpu=cpu))

    usage_refresh(partner=partner, now=NOW)

    by_cost_center = dict(
        DimensionDayUsage.objects.filter(
            partner=partner, dimension="tag:cost-center", day=date(2026, 11, 5)
        ).values_list("value", "vcpu_hours")
    )
    assert by_cost_center == {
        "cc-1": pytest.approx(40),
        "cc-2": pytest.approx(20),
        "(none)": pytest.approx(10),
    }
    assert _day(partner, date(2026, 11, 5)).vms_created == 0
    assert _day(partner, date(2026, 11, 1)).vms_created == 3


def test_a_late_event_is_counted_at_the_next_refresh(partner: Any) -> None:
    store_vm(partner=partner, vm=_vm("vm-1", "running", datetime(2026, 11, 2, tzinfo=UTC)))
    store_vm(partner=partner, vm=_vm("vm-1", "stopped", datetime(2026, 11, 2, 12, tzinfo=UTC)))
    usage_refresh(partner=partner, now=NOW)
    assert _day(partner, date(2026, 11, 2)).vm_hours == pytest.approx(12)

    # A stop and start inside that run, delivered long after.
    store_vm(partner=partner, vm=_vm("vm-1", "stopped", datetime(2026, 11, 2, 2, tzinfo=UTC)))
    store_vm(partner=partner, vm=_vm("vm-1", "running", datetime(2026, 11, 2, 5, tzinfo=UTC)))
    usage_refresh(partner=partner, now=NOW)

    assert _day(partner, date(2026, 11, 2)).vm_hours == pytest.approx(9)


def _seed_usage(partner: Any, cost_center: str) -> None:
    store_vm(
        partner=partner,
        vm=_vm(f"vm-{partner.pk}", "running", datetime(2026, 11, 3, tzinfo=UTC), cost_center=cost_center),
    )
    usage_refresh(partner=partner, now=NOW)


def test_the_page_shows_only_the_partners_own_usage(
    partner: Any, other_partner: Any, client_of: Any, owner: Any
) -> None:
    _seed_usage(partner, "cc-acme")
    _seed_usage(other_partner, "cc-globex")

    page = client_of(owner).get("/usage/", {"month": "2026-11", "by": "tag:cost-center"})

    assert page.status_code == 200
    assert b"cc-acme" in page.content
    assert b"cc-globex" not in page.content


def test_the_csv_has_one_row_per_vm_per_day_of_the_partner_only(
    partner: Any, other_partner: Any, client_of: Any, operator: Any
) -> None:
    _seed_usage(partner, "cc-acme")
    _seed_usage(other_partner, "cc-globex")

    response = client_of(operator).get("/usage/export.csv", {"month": "2026-11"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response.status_code == 200
    assert [row["day"] for row in rows] == [f"2026-11-{d:02d}" for d in range(3, 21)]
    assert {row["vm_id"] for row in rows} == {f"vm-{partner.pk}"}
    assert rows[1]["vcpu_hours"] == "96.0000"
    assert VMDayUsage.objects.filter(partner=other_partner).exists()


def test_a_viewer_is_refused_the_page_and_the_csv(client_of: Any, viewer: Any) -> None:
    client = client_of(viewer)

    assert client.get("/usage/").status_code == 403
    assert client.get("/usage/export.csv").status_code == 403


def test_a_bad_month_or_breakdown_is_said_and_the_page_still_answers(client_of: Any, owner: Any) -> None:
    page = client_of(owner).get("/usage/", {"month": "2026-13", "by": "tag:nope"})

    assert page.status_code == 200
    assert b"Choose a month as YYYY-MM" in page.content
    assert b"Select a valid choice" in page.content


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    assert Client().get("/usage/").status_code == 302
