"""The audit log in Chromium against the real stack: an operator stops a VM, then the partner's admin
finds that action in the audit log, filtered by that person, with its outcome and a link to the VM."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import sign_in_at_sandbox
from tests.servers import PortalServer

pytestmark = pytest.mark.browser


def _signed_in(browser: Any, portal_server: PortalServer, email: str, scopes: list[str]) -> Any:
    """A browser context of its own (the operator and the admin are two people), signed in."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{portal_server.url}/accounts/login/?next=/")
    page.click("#sign-in")
    sign_in_at_sandbox(page, portal_server.sandbox, email)
    page.wait_for_url(re.compile(re.escape(portal_server.url) + r"/"))
    for scope in scopes:
        page.goto(f"{portal_server.url}/accounts/grant/?scope={scope}&next=/")
        if page.url.startswith(portal_server.sandbox.url):
            sign_in_at_sandbox(page, portal_server.sandbox, email)
        page.wait_for_url(re.compile(re.escape(portal_server.url) + r"/"))
    return page


def test_a_stopped_vm_is_found_in_the_audit_log_filtered_by_the_person_who_stopped_it(
    browser: Any, portal_server: PortalServer, acme_ready: Any
) -> None:
    url = portal_server.url
    operator = _signed_in(browser, portal_server, "operator@acme.example", ["vm:write"])
    operator.goto(f"{url}/vms/?status=running")
    vm_id = operator.locator("#vm-table tbody tr[data-vm-id]").first.get_attribute("data-vm-id")
    operator.goto(f"{url}/vms/{vm_id}/")
    operator.click("button[data-action=stop]")
    operator.wait_for_url(f"{url}/vms/{vm_id}/")
    assert operator.get_attribute(f"#vm-status-{vm_id}", "data-vm-status") == "stopped"
    # The operator has no audit page, and no link to one.
    assert operator.locator("a[href='/audit/']").count() == 0
    assert operator.goto(f"{url}/audit/").status == 403
    operator.context.close()

    admin = _signed_in(browser, portal_server, "admin@acme.example", [])
    admin.click("a[href='/audit/']")
    admin.wait_for_url(f"{url}/audit/")
    admin.select_option("#id_person", label="operator@acme.example")
    admin.select_option("#id_action", "vm.stop")
    admin.click("#audit-filters button[type=submit]")
    admin.wait_for_url(re.compile(r".*/audit/\?.*person=\d+.*action=vm.stop"))

    rows = admin.locator("#audit-entries tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "operator@acme.example" in row and "vm.stop" in row and "Done" in row
    assert admin.locator(f"#audit-entries a[href='/vms/{vm_id}/']").count() == 1
    # The filtered view is an address: opened again, it shows the same row.
    admin.goto(admin.url)
    assert admin.locator("#audit-entries tbody tr").count() == 1
    admin.context.close()
