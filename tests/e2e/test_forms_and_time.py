"""Forms and times in Chromium against the real stack (sandbox, portal under uvicorn, Celery worker).

- A double click on Create VM makes one VM, counted at the sandbox with the partner's own client.
- The create form's selects cascade: another cloud narrows the regions, another region the clusters.
- A person's time zone: detected from the browser on a first sign-in, chosen on the account page,
  never replaced by the browser afterwards, and applied to a table cell and a chart's time axis.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import novacron
import pytest

from tests.browser import sign_in_at_sandbox, wait_until
from tests.servers import PortalServer

pytestmark = pytest.mark.browser

# Nobody else's tests change this person's zone; theirs is put back at the end.
ZONE_PERSON = "viewer@acme.example"


def _sandbox_vms_named(client: novacron.Client, name: str) -> list[Any]:
    return [vm for vm in client.iter_vms(q=name) if vm.name == name]


def test_a_double_click_on_create_vm_makes_one_vm_at_novacron(
    signed_in_page: Any, portal_server: PortalServer, acme_ready: novacron.Client
):
    page = signed_in_page("operator@acme.example", scopes=["vm:write"])
    name = f"double-click-{uuid.uuid4().hex[:8]}"
    page.goto(f"{portal_server.url}/vms/new/")
    page.fill("#id_name", name)
    page.fill("#id_network_id", "net-e2e")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    # Chromium sends one POST for a double click on a plain form; a browser that sends both (or a
    # retried POST) sends the same form twice: that second copy goes first here, as a fetch.
    page.evaluate(
        "() => { const form = document.getElementById('vm-create-form');"
        " fetch(form.action, {method: 'POST', body: new FormData(form), credentials: 'same-origin'}); }"
    )
    while not posts:  # the copy is on its way before the clicks
        page.wait_for_timeout(50)
    page.dblclick("#create-vm")
    page.wait_for_url(re.compile(r"/vms/(?!new/)[^/]+/$"), timeout=30_000)

    # Every copy reached the portal with the form's one Idempotency-Key, and NovaCron acted once.
    assert len([url for url in posts if url.endswith("/vms/new/")]) >= 2
    assert len(_sandbox_vms_named(acme_ready, name)) == 1
    time.sleep(2)  # a late second create would show up at NovaCron by now
    [vm] = _sandbox_vms_named(acme_ready, name)
    assert page.url.rstrip("/").endswith(vm.vm_id)


def _offered(page: Any, select: str) -> list[str]:
    return page.eval_on_selector_all(
        f"{select} option", "options => options.filter(o => !o.hidden && !o.disabled).map(o => o.value)"
    )


def test_another_cloud_narrows_the_regions_and_another_region_the_clusters(
    signed_in_page: Any, portal_server: PortalServer, acme_ready: novacron.Client
):
    clusters = acme_ready.list_clusters()
    by_cloud: dict[str, dict[str, set[str]]] = {}
    for cluster in clusters:
        cloud = cluster.cloud_provider
        by_cloud.setdefault(cloud, {}).setdefault(cluster.region, set()).add(cluster.cluster_id)
    assert len(by_cloud) >= 2, "the sandbox seeds clusters in several clouds"
    page = signed_in_page("operator@acme.example", scopes=["vm:write"])
    page.goto(f"{portal_server.url}/vms/new/")

    for cloud, regions in sorted(by_cloud.items()):
        page.select_option("#id_cloud_provider", cloud)
        assert set(_offered(page, "#id_region")) == set(regions)
        for region, cluster_ids in sorted(regions.items()):
            page.select_option("#id_region", region)
            offered = _offered(page, "#id_cluster")
            # "" is "NovaCron picks one in the region".
            assert set(offered) - {""} == cluster_ids
        assert page.input_value("#id_region") in regions
        assert page.input_value("#id_cluster") in {"", *regions[page.input_value("#id_region")]}


def _set_zone_in_portal(portal_server: PortalServer, email: str, zone: str) -> None:
    portal_server.manage(
        "shell",
        "-c",
        f"from accounts.models import User; User.objects.filter(email={email!r}).update(time_zone={zone!r})",
    )


def _sign_in(browser: Any, portal_server: PortalServer, email: str, *, browser_zone: str) -> Any:
    """A fresh context whose browser lives in `browser_zone`, signed in as `email`."""
    context = browser.new_context(timezone_id=browser_zone)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{portal_server.url}/accounts/login/?next=/accounts/")
    page.click("#sign-in")
    sign_in_at_sandbox(page, portal_server.sandbox, email)
    page.wait_for_url(re.compile(re.escape(portal_server.url) + r"/accounts/"))
    return page


def _stored_zone(page: Any) -> str:
    return page.input_value("#id_time_zone")


def test_a_chosen_time_zone_reaches_a_table_cell_and_a_chart_axis(
    browser: Any, portal_server: PortalServer, acme_ready: novacron.Client
):
    url = portal_server.url
    _set_zone_in_portal(portal_server, ZONE_PERSON, "")
    try:
        # First sign-in: the browser's zone (Sao Paulo here) is taken.
        page = _sign_in(browser, portal_server, ZONE_PERSON, browser_zone="America/Sao_Paulo")
        wait_until(page, "() => document.documentElement.dataset.timeZoneDetected === 'America/Sao_Paulo'")
        page.reload()
        assert _stored_zone(page) == "America/Sao_Paulo"

        # The person's choice.
        page.select_option("#id_time_zone", "Asia/Kolkata")
        page.click("#time-zone-save")
        page.wait_for_url(f"{url}/accounts/")
        assert "Times are now shown in Asia/Kolkata." in page.inner_text("#messages")
        page.context.close()

        # A browser elsewhere (New York) changes nothing: every page is in Kolkata.
        page = _sign_in(browser, portal_server, ZONE_PERSON, browser_zone="America/New_York")
        assert _stored_zone(page) == "Asia/Kolkata"
        assert page.get_attribute('meta[name="time-zone"]', "data-detect-url") is None

        # A table cell: the VM list's Created column.
        page.goto(f"{url}/vms/")
        cell = page.locator("#vm-table tbody tr[data-vm-id] time").first
        instant = datetime.fromisoformat(cell.get_attribute("datetime").replace("Z", "+00:00"))
        local = instant.astimezone(ZoneInfo("Asia/Kolkata"))
        assert cell.inner_text() == f"{local.day} {local:%b %Y, %H:%M} UTC+05:30"

        # A chart's time axis: every tick label is the tick's instant on Kolkata's clock.
        page.click("#vm-table tbody tr[data-vm-id] a")
        page.wait_for_url(re.compile(r"/vms/[^/]+/$"))
        wait_until(
            page,
            "() => { const c = document.querySelector('canvas[data-chart=cpu]');"
            " const chart = c && window.Chart && window.Chart.getChart(c);"
            " return !!chart && chart.scales.x.ticks.length > 1; }",
        )
        ticks = page.evaluate(
            "() => window.Chart.getChart(document.querySelector('canvas[data-chart=cpu]'))"
            ".scales.x.ticks.map(t => [t.value, t.label])"
        )
        for value, label in ticks:
            expected = datetime.fromtimestamp(value / 1000, UTC).astimezone(ZoneInfo("Asia/Kolkata"))
            assert label == f"{expected:%H:%M}", (value, label)
            # Ticks fall on Kolkata's round minutes (its :30 offset would put UTC-placed hour ticks off).
            assert expected.second == 0
        new_york = [
            datetime.fromtimestamp(v / 1000, ZoneInfo("America/New_York")).strftime("%H:%M") for v, _ in ticks
        ]
        assert new_york != [label for _, label in ticks]
        assert (
            page.evaluate(
                "() => window.Chart.getChart(document.querySelector('canvas[data-chart=cpu]'))"
                ".options.scales.x.title.text"
            )
            == "Asia/Kolkata"
        )
        page.context.close()
    finally:
        _set_zone_in_portal(portal_server, ZONE_PERSON, "")
