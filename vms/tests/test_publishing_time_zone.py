"""Live fragments go to viewers in many zones: they are rendered in UTC whoever triggered them, with
the exact instant in each <time> for the page to rewrite in its own zone (static/js/time-zone.js)."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.utils import timezone

from live.models import EVERYONE, Event
from tests.factories import make_cluster, make_vm
from tests.fakes import ROOT, vm_payload
from vms import services

pytestmark = pytest.mark.django_db


def test_a_change_made_in_a_kolkata_request_is_published_in_utc(
    partner, hmac_client, mocked_api, django_capture_on_commit_callbacks
):
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_vm(partner, 1, status="running")
    mocked_api.post(
        f"{ROOT}/vms/vm-00001/stop", json=vm_payload(1, status="stopped", updated_at="2026-03-01T08:00:00Z")
    )

    with (
        timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.vm_stop(partner=partner, client=hmac_client, vm_id="vm-00001")

    html = Event.objects.get(topic="vm", audience=EVERYONE).html
    times = re.findall(r'<time datetime="([^"]+)"[^>]*>([^<]+)</time>', html)
    assert ("2026-03-01T08:00:00Z", "1 Mar 2026, 08:00:00 UTC") in times  # the spec's "Updated"
    assert times and all(text.endswith(" UTC") for _, text in times)
    assert "+05:30" not in html
