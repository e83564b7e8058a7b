"""What one person changes in the portal, another person's open pages show without a reload.

Two people of Acme in two browsers: the operator acts on a VM's page; the admin has the same VM's page
and the VM list open. Runs the real stack: sandbox, portal under uvicorn, Celery worker with beat.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import novacron
import pytest

from tests.browser import sign_in_at_sandbox
from tests.servers import PortalServer, Process

pytestmark = pytest.mark.browser

TIMEOUT_S = 30
PROVISIONING_TIMEOUT_S = 90


@pytest.fixture(autouse=True, scope="module")
def _logs(portal_server: PortalServer, celery_worker_process: Process) -> None:
    """The processes whose logs a timed-out wait prints."""
    _LOGS[:] = [portal_server.process, celery_worker_process, portal_server.sandbox.process]


_LOGS: list[Process] = []


@pytest.fixture
def second_browser(browser: Any, portal_server: PortalServer) -> Iterator[Any]:
    """Another person's browser (its own cookies): `second_browser("admin@acme.example", ["vm:write"])`."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    url, sandbox = portal_server.url, portal_server.sandbox

    def sign_in(email: str, scopes: list[str]) -> Any:
        page = context.new_page()
        page.goto(f"{url}/accounts/login/?next=/")
        page.click("#sign-in")
        sign_in_at_sandbox(page, sandbox, email)
        page.wait_for_url(re.compile(re.escape(url) + r"/"))
        for scope in scopes:
            page.goto(f"{url}/accounts/grant/?scope={scope}&next=/")
            if page.url.startswith(sandbox.url):
                sign_in_at_sandbox(page, sandbox, email)
            page.wait_for_url(re.compile(re.escape(url) + r"/"))
        return page

    yield sign_in
    context.close()


def _wait_until(page: Any, expression: str, arg: Any = None, timeout_s: float = TIMEOUT_S) -> None:
    """Poll a page expression from here: the portal's CSP forbids the eval that wait_for_function uses."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            state = page.evaluate(
                "(s) => [document.documentElement.dataset.liveStream, location.href, "
                "document.querySelector(s)?.outerHTML.slice(0, 600)]",
                arg,
            )
            logs = "\n".join(f"--- {p.name}:\n{p.log_tail(25)}" for p in _LOGS)
            raise AssertionError(f"timed out waiting for {expression}; stream, url, element: {state}\n{logs}")
        time.sleep(0.2)


def _open_live(page: Any, url: str) -> None:
    page.goto(url)
    _wait_until(page, "() => document.documentElement.dataset.liveStream === 'up'")
    page.evaluate("window.__sameDocument = true")  # a reload would drop it


STATUS = "(s) => document.querySelector(s)?.dataset.vmStatus"
BUTTON_ENABLED = (
    "(s) => { const b = document.querySelector(s); return !!b && !b.disabled && b.offsetParent !== null; }"
)
BUTTON_DISABLED = "(s) => { const b = document.querySelector(s); return !b || b.disabled; }"
VISIBLE = "(s) => { const e = document.querySelector(s); return !!e && e.offsetParent !== null; }"


def _pick_running_vm(client: novacron.Client) -> tuple[str, str]:
    # The middle of the fleet by size: the migration tests take the smallest and the largest.
    vms = sorted(client.iter_vms(status="running"), key=lambda v: (v.disk_size_gb + v.memory_gb, v.vm_id))
    vm = vms[len(vms) // 2]
    return vm.vm_id, vm.name


def test_a_change_made_in_one_tab_reaches_another_persons_vm_page_and_list(
    signed_in_page: Any, second_browser: Any, portal_server: PortalServer, acme_ready: novacron.Client
):
    url = portal_server.url
    vm_id, name = _pick_running_vm(acme_ready)
    actions, badge = f"#vm-actions-{vm_id}", f"#vm-status-{vm_id}"
    start, stop = f"{actions} button[data-action=start]", f"{actions} button[data-action=stop]"
    migrate = f"{actions} a[data-action=migrate]"

    operator = signed_in_page("operator@acme.example", scopes=["vm:write"])
    admin = second_browser("admin@acme.example", ["vm:write", "migration:execute"])
    admin_list = admin.context.new_page()
    _open_live(admin, f"{url}/vms/{vm_id}/")
    _open_live(admin_list, f"{url}/vms/?q={name}")
    assert admin.evaluate(STATUS, badge) == "running"
    assert admin.evaluate(BUTTON_ENABLED, stop) and admin.evaluate(VISIBLE, migrate)
    assert admin_list.evaluate(STATUS, f"#vm-row-{vm_id} [data-vm-status]") == "running"
    # The list row itself is replaced too (not only the badge inside it, which has its own fragment).
    admin_list.evaluate(f"document.getElementById('vm-row-{vm_id}').dataset.before = 'stop'")
    stopped_count = (
        "() => Number(document.querySelector('#vm-status-counts [data-status=stopped]').dataset.count)"
    )
    stopped_before = admin_list.evaluate(stopped_count)
    # A list filtered on running VMs: the VM leaves the filter, and the page says so.
    admin_running = admin.context.new_page()
    _open_live(admin_running, f"{url}/vms/?q={name}&status=running")

    # The operator stops it: the admin's VM page and list follow, without a reload.
    operator.goto(f"{url}/vms/{vm_id}/")
    operator.click(stop)
    operator.wait_for_url(f"{url}/vms/{vm_id}/")
    assert operator.get_attribute(badge, "data-vm-status") == "stopped"
    _wait_until(admin, f"(s) => ({STATUS})(s) === 'stopped'", badge)
    _wait_until(admin, BUTTON_ENABLED, start)
    assert admin.evaluate(BUTTON_DISABLED, stop)
    assert "A stopped VM can't be stopped." in admin.locator(f"{actions} #vm-action-reasons").inner_text()
    _wait_until(admin_list, f"(s) => ({STATUS})(s) === 'stopped'", f"#vm-row-{vm_id} [data-vm-status]")
    _wait_until(admin_list, f"() => !document.getElementById('vm-row-{vm_id}').dataset.before")
    # The counts of each open list's own filter follow too.
    _wait_until(admin_list, f"() => ({stopped_count})() === {stopped_before + 1}")
    _wait_until(
        admin_running, "() => /1 fewer VM matches/.test(document.getElementById('vm-list-changed').innerText)"
    )
    assert admin.evaluate("window.__sameDocument") and admin_list.evaluate("window.__sameDocument")
    assert admin_running.evaluate("window.__sameDocument")
    admin_running.click("#vm-list-changed a")
    _wait_until(admin_running, f"() => !document.getElementById('vm-row-{vm_id}')")
    admin_running.close()

    # The operator starts it: provisioning, then running once NovaCron is done, and the admin's Actions card
    # offers Stop and Migrate… again (not "still provisioning").
    operator.click(start)
    operator.wait_for_url(f"{url}/vms/{vm_id}/")
    _wait_until(admin, f"(s) => ({STATUS})(s) === 'running'", badge, PROVISIONING_TIMEOUT_S)
    _wait_until(admin, BUTTON_ENABLED, stop)
    assert admin.evaluate(BUTTON_DISABLED, start)
    assert "still provisioning" not in admin.locator(actions).inner_text()
    assert admin.evaluate(VISIBLE, migrate)
    _wait_until(admin_list, f"(s) => ({STATUS})(s) === 'running'", f"#vm-row-{vm_id} [data-vm-status]")
    assert admin.evaluate("window.__sameDocument") and admin_list.evaluate("window.__sameDocument")

    # The pushed card works as the rendered one did: the admin stops the VM from it, and the operator's
    # page, open since the start, follows.
    _wait_until(operator, "() => document.documentElement.dataset.liveStream === 'up'")
    operator.evaluate("window.__sameDocument = true")
    admin.click(stop)
    admin.wait_for_url(f"{url}/vms/{vm_id}/")
    assert "stop requested" in admin.locator("#messages").inner_text()
    _wait_until(operator, f"(s) => ({STATUS})(s) === 'stopped'", badge)
    _wait_until(operator, BUTTON_ENABLED, start)
    assert operator.evaluate("window.__sameDocument")
