"""Sign-in, step-up, refresh and Disconnect against a standard OpenID provider: a sandbox of its own
in the plain profile (SANDBOX_OIDC_PROFILE=plain: partner claims and email only in userinfo, refresh
tokens only with offline_access and prompt=consent), and a portal of its own on its own database,
so the suite's sandbox and portal are untouched."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser import sign_in_at_sandbox
from tests.servers import PortalServer, start_portal, start_sandbox

pytestmark = pytest.mark.browser

EMAIL = "operator@acme.example"


@pytest.fixture(scope="module")
def plain_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("plain-sandbox"), vms=20, oidc_profile="plain")
    try:
        portal = start_portal(sandbox, tmp_path_factory.mktemp("plain-portal"), own_stores=True)
        try:
            portal.manage("sync_now", "--partner", "partner-acme", "--full")
            yield portal
        finally:
            portal.process.stop()
    finally:
        sandbox.process.stop()


def stored_token(portal: PortalServer) -> dict[str, Any] | None:
    """The person's token row in the portal (None when there is none), secrets as values to compare."""
    program = (
        "import json; from accounts.models import OAuthToken; "
        f"t = OAuthToken.objects.filter(user__email={EMAIL!r}).first(); "
        "print(json.dumps(t and {'access_token': t.access_token, 'refresh_token': t.refresh_token, "
        "'expires_at': t.expires_at.isoformat(), 'scopes': t.scopes}))"
    )
    answer: dict[str, Any] | None = json.loads(portal.manage("shell", "-c", program).strip().splitlines()[-1])
    return answer


def expire_access_token(portal: PortalServer) -> None:
    program = (
        "from datetime import timedelta; from django.utils import timezone; "
        "from accounts.models import OAuthToken; "
        f"OAuthToken.objects.filter(user__email={EMAIL!r}).update(expires_at=timezone.now() - timedelta(minutes=5))"
    )
    portal.manage("shell", "-c", program)


def a_vm_id(portal: PortalServer) -> str:
    program = (
        "from vms.models import VM; print(VM.objects.filter(partner__partner_id='partner-acme', "
        "status='running').values_list('vm_id', flat=True).first())"
    )
    return portal.manage("shell", "-c", program).strip().splitlines()[-1]


def refresh_at_the_provider(portal: PortalServer, refresh_token: str) -> tuple[int, dict[str, Any]]:
    sandbox = portal.sandbox
    credentials = base64.b64encode(f"{sandbox.client_id}:{sandbox.client_secret}".encode()).decode()
    request = urllib.request.Request(
        f"{sandbox.issuer}/token/",
        data=urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token}).encode(),
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_sign_in_step_up_refresh_and_disconnect_work_against_a_plain_provider(
    page: Any, plain_portal: PortalServer
) -> None:
    portal, sandbox = plain_portal, plain_portal.sandbox

    # Sign-in: the ID token names nobody but `sub`; the partner and role come from userinfo.
    page.goto(f"{portal.url}/accounts/login/")
    page.click("#sign-in")
    sign_in_at_sandbox(page, sandbox, EMAIL)
    page.wait_for_url(f"{portal.url}/")
    assert page.locator("#fleet-heading").count() == 1  # the overview, not "isn't set up"
    signed_in = stored_token(portal)
    assert signed_in is not None and signed_in["refresh_token"]  # only offline_access gives one
    assert "offline_access" in signed_in["scopes"]

    page.goto(f"{portal.url}/accounts/")
    assert page.locator("#account-partner").inner_text().startswith("Acme Corp")
    assert page.locator("#account-role").inner_text() == "Operator"
    assert page.locator("#account-name").inner_text().strip() not in ("", f"nc-{EMAIL}")

    # Step-up: one more scope, through the provider's consent, back to the same page.
    page.goto(f"{portal.url}/accounts/grant/?scope=vm:write&next=/accounts/")
    sign_in_at_sandbox(page, sandbox, EMAIL)
    page.wait_for_url(f"{portal.url}/accounts/")
    assert page.locator("#granted-scopes [data-scope='vm:write']").count() == 1
    granted = stored_token(portal)
    assert granted is not None and granted["refresh_token"] and "offline_access" in granted["scopes"]

    # Refresh: the stored access token has expired; a page that calls NovaCron renews it first.
    expire_access_token(portal)
    vm_id = a_vm_id(portal)
    page.goto(f"{portal.url}/vms/{vm_id}/")
    assert page.locator(f"#vm-status-{vm_id}").count() == 1
    assert page.locator("#stale-banner").count() == 0  # NovaCron answered the page's call
    refreshed = stored_token(portal)
    assert refreshed is not None
    assert refreshed["access_token"] != granted["access_token"]
    assert refreshed["refresh_token"] not in ("", granted["refresh_token"])  # rotated
    assert datetime.fromisoformat(refreshed["expires_at"]) > datetime.now(UTC)
    assert "vm:write" in refreshed["scopes"]

    # Disconnect: revoked at the provider, forgotten by the portal, signed out.
    page.goto(f"{portal.url}/accounts/")
    page.click("#disconnect")  # the question first (a page of its own, no JavaScript needed)
    page.click("#disconnect-confirm")
    page.wait_for_url(re.compile(re.escape(portal.url) + "/accounts/login/"))
    assert "revoked" in page.locator("#messages").inner_text()
    assert stored_token(portal) is None
    status, body = refresh_at_the_provider(portal, refreshed["refresh_token"])
    assert (status, body.get("error")) == (400, "invalid_grant")
    page.goto(f"{portal.url}/accounts/")
    assert "/accounts/login/" in page.url
