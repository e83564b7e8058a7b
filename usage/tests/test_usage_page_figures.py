"""The usage page: each figure says how it was derived and how fresh it is, and the chart's days are
placed as instants for the zone-aware time axis (labelled in the person's zone, as the other charts)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from usage.services import usage_refresh
from usage.tests.test_usage import _vm
from vms.cache import store_vm

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(partner: Any) -> Any:
    partner.time_zone = "America/New_York"
    partner.save()
    store_vm(partner=partner, vm=_vm("vm-1", "running", datetime(2026, 11, 10, 22, tzinfo=UTC)))
    store_vm(partner=partner, vm=_vm("vm-1", "stopped", datetime(2026, 11, 11, 4, tzinfo=UTC)))
    usage_refresh(partner=partner, now=NOW)
    return partner


def _page(client_of: Any, owner: Any, zone: str) -> str:
    owner.time_zone = zone
    owner.save()
    page = client_of(owner).get("/usage/", {"month": "2026-11", "by": "tag:cost-center"})
    assert page.status_code == 200
    return str(page.content.decode())


def test_every_figure_says_how_it_is_derived_and_how_fresh_it_is(
    seeded: Any, client_of: Any, owner: Any
) -> None:
    html = _page(client_of, owner, "Asia/Kolkata")

    # Where the figures come from and up to when, once for the page...
    freshness = re.search(r'id="usage-freshness">(.*?)</p>', html, re.S)
    assert freshness is not None
    text = freshness.group(1)
    assert "Computed" in text and "state intervals" in text and "recorded up to" in text
    assert "America/New_York" in text and "Asia/Kolkata" in text  # days in the partner's zone, times in yours
    # ...and for each section: totals (each row its derivation), the chart, the breakdown, creations.
    assert html.count("How it is derived") == 1
    sections = ["totals", "chart", "breakdown"] + (["created"] if 'id="usage-created"' in html else [])
    for section in sections:
        note = re.search(rf'data-derivation="{section}">(.*?)</p>', html, re.S)
        assert note is not None, section
        if section != "created":
            assert "as of <time datetime=" in note.group(1), section
    # Times are written in the person's zone.
    assert "UTC+05:30" in text


def test_the_chart_places_each_day_at_its_middle_for_the_persons_zone_axis(
    seeded: Any, client_of: Any, owner: Any
) -> None:
    html = _page(client_of, owner, "Europe/Paris")

    data = re.search(r'<script id="usage-chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert data is not None
    chart = json.loads(data.group(1))
    assert chart["day_zone"] == "America/New_York"
    assert len(chart["x"]) == len(chart["labels"]) == 30
    tenth = chart["labels"].index("2026-11-10")
    noon = datetime.fromtimestamp(chart["x"][tenth] / 1000, tz=ZoneInfo("America/New_York"))
    assert (noon.date().isoformat(), noon.hour) == ("2026-11-10", 12)
    assert 'data-time-zone="Europe/Paris"' in html
    assert "js/chart-time-zone" in html  # the same zone-aware axis as the VM charts
