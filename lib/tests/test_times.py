"""The one format of an instant, in the active zone, and the exact UTC instant beside it."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from django.template import Context, Template
from django.utils import timezone

from lib.times import instant_html, instant_text, is_time_zone, offset_label, rendered_in_utc, utc_iso

MOMENT = datetime(2026, 12, 2, 13, 5, 7, tzinfo=UTC)


def test_an_instant_reads_the_same_way_in_every_zone_with_its_offset():
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        assert instant_text(MOMENT) == "2 Dec 2026, 14:05 UTC+01:00"
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        assert instant_text(MOMENT, seconds=True) == "2 Dec 2026, 18:35:07 UTC+05:30"
    with timezone.override(zoneinfo.ZoneInfo("America/Sao_Paulo")):
        assert instant_text(MOMENT) == "2 Dec 2026, 10:05 UTC-03:00"
    assert instant_text(MOMENT) == "2 Dec 2026, 13:05 UTC"


def test_summer_time_changes_the_offset_and_a_zone_can_change_the_date():
    summer = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        assert instant_text(summer) == "2 Jul 2026, 01:30 UTC+02:00"
    with timezone.override(zoneinfo.ZoneInfo("Pacific/Chatham")):
        assert instant_text(MOMENT).endswith("UTC+13:45")


def test_the_time_element_carries_the_exact_utc_instant_whatever_zone_the_text_is_in():
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        html = instant_html(MOMENT.replace(microsecond=250_000))
    assert html == '<time datetime="2026-12-02T13:05:07.250Z">2 Dec 2026, 18:35 UTC+05:30</time>'
    assert str(instant_html(None)) == "—"
    assert utc_iso(MOMENT.astimezone(zoneinfo.ZoneInfo("America/New_York"))) == "2026-12-02T13:05:07Z"


def test_the_template_filter_renders_in_the_active_zone_without_any_load():
    template = Template(
        '{{ when|instant }} {{ when|instant:"seconds" }} {{ when|instant_text }} {% current_time_zone %}'
    )
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        out = template.render(Context({"when": MOMENT}))
    assert out == (
        '<time datetime="2026-12-02T13:05:07Z">2 Dec 2026, 18:35 UTC+05:30</time> '
        '<time datetime="2026-12-02T13:05:07Z" data-seconds="">2 Dec 2026, 18:35:07 UTC+05:30</time> '
        "2 Dec 2026, 18:35 UTC+05:30 Asia/Kolkata"
    )


def test_what_is_rendered_for_every_viewer_is_rendered_in_utc():
    @rendered_in_utc
    def fragment() -> str:
        return instant_text(MOMENT)

    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        assert fragment() == "2 Dec 2026, 13:05 UTC"
        assert timezone.get_current_timezone_name() == "Asia/Kolkata"  # restored after


def test_offsets_and_zone_names():
    assert offset_label(timedelta(hours=-9, minutes=-30)) == "UTC-09:30"
    assert offset_label(None) == "UTC"
    assert is_time_zone("Asia/Calcutta")  # what Chromium reports for Kolkata
    assert not is_time_zone("localtime") and not is_time_zone("Mars/Olympus") and not is_time_zone("")
