"""Live migration panels in Chromium: progress pushed over SSE to completion without a reload, and a
cancel mid-way. Runs the real stack: sandbox, portal under uvicorn, Celery worker (embedded default)."""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

import novacron
import pytest

from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser

COMPLETION_TIMEOUT_MS = 180_000


@pytest.fixture(autouse=True, scope="module")
def _logs(portal_server: PortalServer, celery_worker_process: Process) -> None:
    """The processes whose logs a timed-out wait prints."""
    _LOGS[:] = [portal_server.process, celery_worker_process, portal_server.sandbox.process]


_LOGS: list[Process] = []


def _wait_until(page: Any, expression: str, arg: Any = None, timeout_ms: int = 15_000) -> None:
    """Poll a page expression from here: the portal's CSP forbids the eval that wait_for_function uses."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            state = page.evaluate(
                "(s) => [document.documentElement.dataset.liveStream, location.href, "
                "document.querySelector(s)?.outerHTML.slice(0, 400)]",
                arg,
            )
            logs = "\n".join(f"--- {p.name}:\n{p.log_tail(25)}" for p in _LOGS)
            raise AssertionError(f"timed out waiting for {expression}; stream, url, panel: {state}\n{logs}")
        time.sleep(0.2)


def _pick(client: novacron.Client, *, quick: bool) -> tuple[str, str]:
    """A running VM and a target: the smallest VM on the fastest link, or the largest on the slowest."""
    vms = sorted(client.iter_vms(status="running"), key=lambda v: (v.disk_size_gb + v.memory_gb, v.vm_id))
    vm = vms[0] if quick else vms[-1]
    clusters = [c for c in client.list_clusters() if c.cluster_id != vm.cluster]
    clusters.sort(
        key=lambda c: (c.cloud_provider != vm.cloud_provider, c.region != vm.region, -c.link_speed_mbps)
    )
    return vm.vm_id, (clusters[0] if quick else clusters[-1]).cluster_id


def _start_from_the_vm_page(page: Any, portal_url: str, vm_id: str, cluster_id: str) -> str:
    page.goto(f"{portal_url}/vms/{vm_id}/migrate/")
    page.select_option("select[name=target_cluster]", cluster_id)
    page.check("input[name=migration_type][value=live]")
    page.fill("input[name=downtime_window_minutes]", "15")
    page.click(".migration-start-submit")
    page.wait_for_url(f"{portal_url}/migrations/mig-*/")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def test_a_live_migration_advances_to_completion_without_a_reload(
    signed_in_page: Any, portal_url: str, acme_ready
):
    vm_id, cluster_id = _pick(acme_ready, quick=True)
    page = signed_in_page("operator@acme.example", scopes=["migration:execute"])
    migration_id = _start_from_the_vm_page(page, portal_url, vm_id, cluster_id)
    panel = f"#migration-{migration_id}"
    page.wait_for_selector(panel)
    _wait_until(page, "() => document.documentElement.dataset.liveStream === 'up'")
    assert page.inner_text("#live-indicator") == "Live"
    # Anything that reloads the page would drop this marker.
    page.evaluate("window.__panelMarker = 'still-the-same-page'")
    start = int(page.get_attribute(panel, "data-progress"))

    _wait_until(
        page,
        f"(s) => {{ const el = document.querySelector(s); return el && Number(el.dataset.progress) > {start} "
        f"&& el.dataset.status === 'in_progress'; }}",
        panel,
        COMPLETION_TIMEOUT_MS,
    )
    midway = int(page.get_attribute(panel, "data-progress"))
    _wait_until(
        page, "(s) => document.querySelector(s)?.dataset.status === 'completed'", panel, COMPLETION_TIMEOUT_MS
    )

    assert page.evaluate("window.__panelMarker") == "still-the-same-page"
    assert start < midway < 100
    assert page.get_attribute(panel, "data-progress") == "100"
    assert page.locator(f"{panel} .migration-percent").inner_text() == "100%"
    assert page.locator(f"{panel} .migration-cancel").count() == 0


def test_a_migration_is_cancelled_mid_way(signed_in_page: Any, portal_url: str, acme_ready):
    vm_id, cluster_id = _pick(acme_ready, quick=False)
    page = signed_in_page("operator@acme.example", scopes=["migration:execute"])
    migration_id = _start_from_the_vm_page(page, portal_url, vm_id, cluster_id)
    panel = f"#migration-{migration_id}"
    _wait_until(
        page,
        "(s) => { const el = document.querySelector(s); return el && el.dataset.status === 'in_progress' "
        "&& el.dataset.phase === 'data_sync' && Number(el.dataset.progress) >= 1; }",
        panel,
        COMPLETION_TIMEOUT_MS,
    )
    page.evaluate("window.__panelMarker = 'still-the-same-page'")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"{panel} .migration-cancel")

    _wait_until(page, "(s) => document.querySelector(s)?.dataset.status === 'cancelled'", panel, 30_000)
    assert page.evaluate("window.__panelMarker") == "still-the-same-page"
    assert page.locator(f"{panel} .migration-cancel").count() == 0
    assert 0 < int(page.get_attribute(panel, "data-progress")) < 100


def test_with_the_stream_blocked_the_panel_falls_back_to_polling(
    signed_in_page: Any, portal_url: str, acme_ready
):
    vm_id, cluster_id = _pick(acme_ready, quick=True)
    page = signed_in_page("operator@acme.example", scopes=["migration:execute"])
    page.route("**/live/stream/**", lambda route: route.abort())
    migration_id = _start_from_the_vm_page(page, portal_url, vm_id, cluster_id)
    panel = f"#migration-{migration_id}"
    # The page says so: reconnecting first, then, once a poll round has refreshed it, polling with the
    # time of the last update.
    _wait_until(
        page, "() => ['reconnecting', 'polling'].includes(document.documentElement.dataset.liveStream)"
    )
    page.evaluate("window.__panelMarker = 'still-the-same-page'")
    start = int(page.get_attribute(panel, "data-progress"))

    _wait_until(
        page,
        f"(s) => Number(document.querySelector(s)?.dataset.progress) > {start}",
        panel,
        COMPLETION_TIMEOUT_MS,
    )
    assert page.evaluate("window.__panelMarker") == "still-the-same-page"
    assert page.evaluate("document.documentElement.dataset.liveStream") == "polling"
    assert re.fullmatch(
        r"Polling · updated \d\d:\d\d:\d\d UTC([+-]\d\d:\d\d)?", page.inner_text("#live-indicator")
    )


def test_a_fourth_migration_turns_the_panels_into_compact_rows_that_stay_live(
    signed_in_page: Any, portal_url: str, acme_ready: novacron.Client
):
    # Four of the largest VMs, each to the slowest other cluster: long enough to watch, cancelled at the end.
    clusters = sorted(acme_ready.list_clusters(), key=lambda c: c.link_speed_mbps)
    vms = sorted(acme_ready.iter_vms(status="running"), key=lambda v: (v.disk_size_gb + v.memory_gb, v.vm_id))
    picks = [
        (vm.vm_id, next(c.cluster_id for c in clusters if c.cluster_id != vm.cluster)) for vm in vms[-6:-2]
    ]

    def start(vm_id: str, cluster_id: str) -> str:
        spec = novacron.MigrationSpec(source_vm_id=vm_id, target_cluster=cluster_id, migration_type="live")
        return acme_ready.start_migration(spec).migration_id

    page = signed_in_page("operator@acme.example", scopes=["migration:execute"])
    started = [start(*pick) for pick in picks[:3]]
    try:
        page.goto(f"{portal_url}/migrations/")
        _wait_until(page, "() => document.documentElement.dataset.liveStream === 'up'")
        for migration_id in started:
            _wait_until(
                page, "(s) => !!document.querySelector(s)", f"#active-migrations #migration-{migration_id}"
            )
        assert page.locator("#active-migration-rows").count() == 0

        # The fourth: the section turns to rows, without a reload of the page.
        page.evaluate("window.__sameDocument = true")
        started.append(start(*picks[3]))
        _wait_until(
            page, "() => document.querySelectorAll('#active-migration-rows tr.migration-row').length >= 4"
        )
        assert page.locator("#active-migrations").count() == 0
        assert page.evaluate("window.__sameDocument")

        # The rows stay live: one advances, and its link leads to the full panel.
        row = f"#migration-row-{started[0]}"
        before = float(page.get_attribute(row, "data-progress") or 0)
        _wait_until(
            page,
            f"(s) => Number(document.querySelector(s)?.dataset.progress) > {before}",
            row,
            COMPLETION_TIMEOUT_MS,
        )
        assert page.locator(f"{row} .migration-cancel").count() == 1
        page.click(f"{row} a[href$='/migrations/{started[0]}/']")
        page.wait_for_url(f"{portal_url}/migrations/{started[0]}/")
        assert page.locator(f"#migration-{started[0]}").count() == 1
    finally:
        for migration_id in started:
            # One already past the point of no return, or finished, refuses: nothing to undo then.
            with contextlib.suppress(novacron.errors.NovaCronError):
                acme_ready.cancel_migration(migration_id)
