from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import sign_in_at_sandbox
from tests.servers import PortalServer

pytestmark = pytest.mark.browser


def test_a_person_signs_in_through_novacron_and_sees_their_name_and_partner(
    page: Any, portal_server: PortalServer
) -> None:
    page.goto(f"{portal_server.url}/accounts/")
    assert "/accounts/login/" in page.url  # partner pages need a sign-in
    page.click("#sign-in")
    sign_in_at_sandbox(page, portal_server.sandbox, "operator@acme.example")

    page.wait_for_url(f"{portal_server.url}/accounts/")
    assert page.locator("#account-partner").inner_text().startswith("Acme Corp")
    assert page.locator("#account-role").inner_text() == "Operator"
    assert page.locator("#account-name").inner_text().strip() != ""
    assert page.locator("#granted-scopes [data-scope='vm:read']").count() == 1
    assert page.locator("#granted-scopes [data-scope='vm:write']").count() == 0


def test_deny_on_the_consent_page_ends_on_a_friendly_page(page: Any, portal_server: PortalServer) -> None:
    page.goto(f"{portal_server.url}/accounts/login/")
    page.click("#sign-in")
    # Someone no other browser test signs in (NovaCron remembers consent for the run, and would not ask).
    sign_in_at_sandbox(page, portal_server.sandbox, "viewer@initech.example", allow=False)

    page.wait_for_url(re.compile(re.escape(portal_server.url) + "/accounts/callback/"))
    assert "You declined access" in page.locator("#sign-in-failed").inner_text()
    assert page.locator("text=Try again").count() == 1
    page.goto(f"{portal_server.url}/accounts/")
    assert "/accounts/login/" in page.url  # not signed in


def test_a_step_up_grant_of_vm_write_returns_to_the_page_it_started_from(
    signed_in_page: Any, portal_server: PortalServer
) -> None:
    # Someone who has never granted vm:write in this run (NovaCron would not ask again): the other
    # browser tests grant it to Acme's people.
    page = signed_in_page("operator@globex.example", next_path="/accounts/")
    page.goto(f"{portal_server.url}/accounts/?from=test")
    grant_link = page.locator("a[data-grant-scope='vm:write']")
    assert grant_link.count() == 1

    grant_link.click()
    sign_in_at_sandbox(page, portal_server.sandbox, "operator@globex.example")

    page.wait_for_url(f"{portal_server.url}/accounts/?from=test")
    assert page.locator("#granted-scopes [data-scope='vm:write']").count() == 1
    assert page.locator("a[data-grant-scope='vm:write']").count() == 0
    assert "Access granted" in page.locator("#messages").inner_text()


def test_disconnect_revokes_and_signs_out(signed_in_page: Any, portal_server: PortalServer) -> None:
    page = signed_in_page("admin@globex.example", next_path="/accounts/")
    page.goto(f"{portal_server.url}/accounts/")
    assert page.locator("#account-partner").inner_text().startswith("Globex")

    page.click("#disconnect")  # the question first (a page of its own, no JavaScript needed)
    page.click("#disconnect-confirm")

    page.wait_for_url(re.compile(re.escape(portal_server.url) + "/accounts/login/"))
    assert "revoked" in page.locator("#messages").inner_text()
    page.goto(f"{portal_server.url}/accounts/")
    assert "/accounts/login/" in page.url


def test_a_person_whose_organisation_is_not_set_up_gets_a_clear_page(
    page: Any, portal_server: PortalServer
) -> None:
    page.goto(f"{portal_server.url}/accounts/login/")
    page.click("#sign-in")
    sign_in_at_sandbox(page, portal_server.sandbox, "admin@initech.example")

    page.wait_for_url(re.compile(re.escape(portal_server.url) + "/accounts/callback/"))
    assert "isn't set up in this portal" in page.locator("#unknown-partner").inner_text()


def test_the_signed_in_page_helper_grants_extra_scopes(
    signed_in_page: Any, portal_server: PortalServer
) -> None:
    page = signed_in_page(
        "operator@acme.example", scopes=["vm:write", "migration:execute"], next_path="/accounts/"
    )
    page.goto(f"{portal_server.url}/accounts/")
    for scope in ("vm:read", "vm:write", "migration:execute"):
        assert page.locator(f"#granted-scopes [data-scope='{scope}']").count() == 1
