"""Every page in Chromium: axe-core's WCAG 2.1 AA rules, the phone width, and a screenshot gallery.

For each role (admin holding every scope, operator and viewer with the sign-in scopes), one sign-in
and one browser context visit every page the portal serves to a GET:

- axe-core (static/vendor/axe.min.js, injected by Playwright so the CSP stays as it is) runs on each
  page for the admin and the viewer, in the light and the dark theme, and any serious or critical
  violation of wcag2a, wcag2aa, wcag21a or wcag21aa fails;
- at 390 px no page scrolls sideways (its tables scroll inside their cards);
- a full-page screenshot of each page at 1440 px and 390 px goes to var/screenshots/<role>/ (kept out
  of git): every role in the light theme, the admin in the dark one too.

Each page is loaded once per role; the dark theme is the system's colour scheme changing under it.

Beside it: a failing htmx request shows the toast with a Retry that works, sorting keeps the focus on
the sort link, and the theme toggle is remembered by the browser.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import novacron
import pytest
from novacron.errors import NovaCronError

from tests.browser import sign_in_at_sandbox, wait_until
from tests.servers import PortalServer

pytestmark = pytest.mark.browser

REPOSITORY = Path(__file__).resolve().parents[2]
AXE = REPOSITORY / "static" / "vendor" / "axe.min.js"
SCREENSHOTS = REPOSITORY / "var" / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDE, PHONE = 1440, 390
# The README's four (docs/screenshots/, copied from var/screenshots/readme/ by hand when the look changes).
README_PAGES = ("overview", "vm-list", "vm-detail", "migration-in-progress")
ADMIN_SCOPES = ["vm:write", "migration:execute", "partner:admin"]

# Pages served to a GET that are not pages a person reads, each for its reason.
NOT_VISITED = {
    "vms/<str:vm_id>/metrics.json": "the charts' JSON",
    "migrations/<str:migration_id>/panel/": "the panel fragment polled by the migration pages",
    "partner/webhooks/received/<int:pk>/payload/": "the payload fragment the received log swaps in",
    "accounts/grant/": "a redirect to NovaCron's consent",
    "accounts/callback/": "the OAuth redirect target",
    "accounts/login/": "visited signed out (test_the_sign_in_page_passes_axe)",
    "jobs/<str:job_id>/progress/": "the job's progress fragment, polled when the stream is down",
    "vms/export.csv": "a CSV download (tests/e2e/test_inventory_find_and_export.py)",
    "audit/export.csv": "a CSV download (tests/e2e/test_audit_log.py)",
    "usage/export.csv": "a CSV download (tests/e2e/test_usage.py)",
}


@dataclass
class World:
    """Ids of real objects at the sandbox, for the pages that show one."""

    vm_id: str
    migration_id: str
    integration_id: str
    subscription_id: str
    pages: dict[str, str] = field(default_factory=dict)


def _axe(page: Any) -> list[dict[str, Any]]:
    """Serious and critical violations of the WCAG 2.1 A/AA rules on the page as it is now."""
    return page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")
                    + " :: " + (n.failureSummary || "").slice(0, 200))}));
        }""",
        AXE_TAGS,
    )


def _settle(page: Any) -> None:
    """Charts drawn (or said why not) before a page is judged or photographed."""
    if page.locator("#vm-metrics").count():
        page.wait_for_selector("#vm-metrics[data-chart-state]:not([data-chart-state=loading])")
    page.wait_for_timeout(150)  # Bootstrap's and Chart.js's layout after the load event


def _page_width(page: Any, timeout_s: float = 3) -> int:
    """The page's scroll width once its layout has followed the new viewport (Chart.js resizes its
    canvases on the next frames): at most the viewport's width, or how wide it stayed."""
    deadline = time.monotonic() + timeout_s
    while True:
        width = int(page.evaluate("document.documentElement.scrollWidth"))
        if width <= PHONE or time.monotonic() > deadline:
            return width
        page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def world(acme_ready: novacron.Client, browser: Any, portal_server: PortalServer) -> Iterator[World]:
    client = acme_ready
    running = sorted(client.iter_vms(status="running"), key=lambda v: (v.disk_size_gb + v.memory_gb, v.vm_id))
    clusters = sorted(client.list_clusters(), key=lambda c: c.link_speed_mbps)
    # The largest VM to the slowest other cluster: still in progress while the pages are looked at.
    migrating = running[-1]
    target = next(c.cluster_id for c in clusters if c.cluster_id != migrating.cluster)
    migration = client.start_migration(
        novacron.MigrationSpec(source_vm_id=migrating.vm_id, target_cluster=target, migration_type="live")
    )
    integration = client.create_integration(
        {
            "name": "Gallery backup",
            "type": "api",
            "config": {"retention_days": 30},
            "endpoints": [
                {
                    "name": "hook",
                    "url": "https://backup.acme.example/hook",
                    "method": "POST",
                    "auth_type": "bearer",
                    "timeout_seconds": 30,
                }
            ],
        }
    )
    subscription = next(iter(client.list_webhooks().data))
    vm_id = running[0].vm_id
    # A bulk job of one VM, made through its own page, for the job pages; the VM is started again after.
    stopped_by_job = running[1].vm_id
    admin = _signed_in_context(browser, portal_server, "admin@acme.example", ADMIN_SCOPES)
    admin.goto(f"{portal_server.url}/jobs/new/?action=stop&selection=picked&vm={stopped_by_job}")
    admin.click(".job-submit")
    admin.wait_for_url(re.compile(re.escape(portal_server.url) + r"/jobs/(?!new/)[^/]+/$"))
    job_path = admin.url.removeprefix(portal_server.url)
    admin.context.close()
    world = World(vm_id, migration.migration_id, integration.integration_id, subscription.subscription_id)
    world.pages = {
        "overview": "/",
        "vm-list": "/vms/",
        "vm-create": "/vms/new/",
        "vm-detail": f"/vms/{vm_id}/",
        "vm-delete": f"/vms/{vm_id}/delete/",
        "vm-migrate": f"/vms/{vm_id}/migrate/",
        "migrations": "/migrations/",
        "migration-in-progress": f"/migrations/{migration.migration_id}/",
        "notifications": "/webhooks/notifications/",
        "integrations": "/partner/integrations/",
        "integration-new": "/partner/integrations/new/",
        "integration-edit": f"/partner/integrations/{integration.integration_id}/edit/",
        "integration-delete": f"/partner/integrations/{integration.integration_id}/delete/",
        "webhooks": "/partner/webhooks/",
        "webhook-new": "/partner/webhooks/new/",
        "webhook-delete": f"/partner/webhooks/{subscription.subscription_id}/delete/",
        "webhook-rotate": f"/partner/webhooks/{subscription.subscription_id}/rotate/",
        "webhook-deliveries": f"/partner/webhooks/{subscription.subscription_id}/deliveries/",
        "received-events": "/partner/webhooks/received/",
        "jobs": "/jobs/",
        "job-new": "/jobs/new/?action=stop&selection=filter&status=running",
        "job": job_path,
        "job-plan": "/jobs/plan/?selection=filter&status=running",
        "evacuate-choose": "/jobs/evacuate/",
        "evacuate-plan": f"/jobs/evacuate/{running[0].cluster}/",
        "audit-log": "/audit/",
        "usage": "/usage/",
        "account": "/accounts/",
        "disconnect": "/accounts/disconnect/",
    }
    yield world
    with contextlib.suppress(NovaCronError):  # finished already
        client.cancel_migration(migration.migration_id)
    client.delete_integration(integration.integration_id)
    deadline = time.monotonic() + 60
    while client.get_vm(stopped_by_job).status != "stopped" and time.monotonic() < deadline:
        time.sleep(0.5)
    with contextlib.suppress(NovaCronError):
        client.start_vm(stopped_by_job)


def _signed_in_context(browser: Any, portal_server: PortalServer, email: str, scopes: list[str]) -> Any:
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    context.set_default_timeout(20_000)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    sandbox = portal_server.sandbox
    page.goto(f"{portal_server.url}/accounts/login/")
    page.click("#sign-in")
    sign_in_at_sandbox(page, sandbox, email)
    page.wait_for_url(re.compile(re.escape(portal_server.url) + r"/"))
    for scope in scopes:
        page.goto(f"{portal_server.url}/accounts/grant/?scope={scope}&next=/")
        if page.url.startswith(sandbox.url):
            sign_in_at_sandbox(page, sandbox, email)
        page.wait_for_url(re.compile(re.escape(portal_server.url) + r"/"))
    return page


def test_the_pages_visited_are_every_page_a_person_reads(world: World) -> None:
    from django.urls import resolve

    from tests.test_query_budgets import budgeted_routes

    visited = {resolve(path.partition("?")[0]).route for path in world.pages.values()}

    assert budgeted_routes() - visited - set(NOT_VISITED) <= {
        "healthz",
        "healthz/live",
        "healthz/ready",
        "healthz/status",
    }


@pytest.mark.parametrize(
    ("email", "scopes", "checked"),
    [
        pytest.param("admin@acme.example", ADMIN_SCOPES, True, id="admin"),
        pytest.param("operator@acme.example", [], False, id="operator"),
        pytest.param("viewer@acme.example", [], True, id="viewer"),
    ],
)
def test_every_page_passes_axe_fits_a_phone_and_is_photographed(
    browser: Any, portal_server: PortalServer, world: World, email: str, scopes: list[str], checked: bool
) -> None:
    role = email.split("@")[0]
    page = _signed_in_context(browser, portal_server, email, scopes)
    folder = SCREENSHOTS / role
    folder.mkdir(parents=True, exist_ok=True)
    violations: dict[str, Any] = {}
    sideways: dict[str, int] = {}
    themes = ["light", "dark"] if checked or role == "admin" else ["light"]
    try:
        for name, path in world.pages.items():
            page.emulate_media(color_scheme="light")
            page.set_viewport_size({"width": WIDE, "height": 900})
            response = page.goto(portal_server.url + path)
            assert response is not None and response.status < 500, (path, response and response.status)
            for theme in themes:
                # The system's theme changing under an open page: static/js/theme.js follows it.
                page.emulate_media(color_scheme=theme)
                page.set_viewport_size({"width": WIDE, "height": 900})
                # static/js/theme.js follows the change event, which a busy machine delivers a moment later.
                wait_until(page, "(t) => document.documentElement.dataset.bsTheme === t", theme, timeout_s=5)
                _settle(page)
                if checked:
                    found = _axe(page)
                    if found:
                        violations[f"{theme} {path}"] = found
                photographed = theme == "light" or role == "admin"
                if photographed:
                    page.screenshot(path=str(folder / f"{name}-{WIDE}-{theme}.png"), full_page=True)
                if role == "admin" and theme == "light" and name in README_PAGES:
                    (SCREENSHOTS / "readme").mkdir(exist_ok=True)
                    page.set_viewport_size({"width": 1200, "height": 760})
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(SCREENSHOTS / "readme" / f"{name}.png"))
                page.set_viewport_size({"width": PHONE, "height": 844})
                width = _page_width(page)
                if width > PHONE:
                    sideways[f"{theme} {path}"] = width
                if photographed:
                    page.screenshot(path=str(folder / f"{name}-{PHONE}-{theme}.png"), full_page=True)
    finally:
        page.context.close()
    (folder / "axe.json").write_text(json.dumps(violations, indent=1))

    assert violations == {}
    assert sideways == {}


def test_the_sign_in_page_passes_axe_in_both_themes(browser: Any, portal_server: PortalServer) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 844})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    try:
        for theme in ("light", "dark"):
            page.emulate_media(color_scheme=theme)
            page.goto(f"{portal_server.url}/accounts/login/")
            assert _axe(page) == []
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    finally:
        context.close()
