"""A partner admin connects a product: an integration, a webhook subscription, a test event that
shows up in the portal's delivery log while the page stays open."""

from __future__ import annotations

import re
import uuid
from typing import Any

import novacron
import pytest

from tests.servers import PortalServer

pytestmark = pytest.mark.browser


def test_an_admin_creates_an_integration_subscribes_and_watches_a_test_event_arrive(
    signed_in_page: Any, portal_server: PortalServer
) -> None:
    portal = portal_server.url
    page = signed_in_page("admin@acme.example", scopes=["partner:admin"], next_path="/partner/integrations/")

    # An integration with one endpoint.
    name = f"Backups {uuid.uuid4().hex[:6]}"
    page.goto(f"{portal}/partner/integrations/")
    page.click("text=New integration")
    page.fill("#id_name", name)
    page.select_option("#id_type", "api")
    page.fill("#id_config", '{"backup_schedule": "0 2 * * *", "retention_days": 30}')
    page.fill("#id_endpoints-0-name", "backup-webhook")
    page.fill("#id_endpoints-0-url", "https://backup.acme.example/webhook")
    page.select_option("#id_endpoints-0-auth_type", "bearer")
    page.fill("#id_endpoints-0-timeout_seconds", "45")
    page.click("#integration-form button[type=submit]")
    page.wait_for_url(f"{portal}/partner/integrations/")
    row = page.locator("#integrations tr", has_text=name)
    assert "backup-webhook" in row.inner_text()
    assert "https://backup.acme.example/webhook" in row.inner_text()

    # A subscription to the portal's own receiver (offered by default); its secret is shown once.
    page.click("nav >> text=Webhooks")
    page.click("text=New subscription")
    assert "/webhooks/novacron/partner-acme/" in page.input_value("#id_url")
    page.check("input[value='vm.created']")
    page.click("#subscription-form button[type=submit]")
    page.wait_for_url(f"{portal}/partner/webhooks/")
    subscription_id = page.get_attribute("#new-secret", "data-subscription-id")
    assert page.input_value("#new-secret-value").startswith("whsec_")
    page.reload()
    assert page.locator("#new-secret").count() == 0

    # The received-events log stays open in this tab...
    page.goto(f"{portal}/partner/webhooks/received/")
    page.evaluate("window.stillTheSamePage = true")

    # ...while a second tab sends the test event.
    sender = page.context.new_page()
    sender.goto(f"{portal}/partner/webhooks/")
    sender.locator(f"#subscription-{subscription_id} button", has_text="Send test event").click()
    sender.wait_for_url(re.compile(re.escape(f"{portal}/partner/webhooks/{subscription_id}/deliveries/")))
    event_id = sender.locator("#deliveries tbody tr").first.locator(".font-monospace").inner_text().strip()
    assert event_id.startswith("evt")

    arrived = page.locator(f"#received-rows tr[data-event-id='{event_id}']")
    arrived.wait_for(timeout=30_000)
    assert "vm.created" in arrived.inner_text()
    assert "valid" in arrived.inner_text()
    assert page.evaluate("window.stillTheSamePage") is True

    # NovaCron's side records the successful attempt; the deliveries page refreshes by itself.
    sender.locator(f"#deliveries tr:has-text('{event_id}') .badge", has_text="succeeded").wait_for(
        timeout=20_000
    )

    # The payload viewer opens beside the log, still without a reload.
    arrived.locator("text=Payload").click()
    page.locator("#payload-viewer pre").wait_for()
    assert event_id in page.locator("#payload-viewer pre").inner_text()
    assert page.evaluate("window.stillTheSamePage") is True

    # A rotated secret: NovaCron signs with the new one and the portal's receiver still accepts.
    sender.goto(f"{portal}/partner/webhooks/{subscription_id}/rotate/")
    sender.click("button:has-text('Rotate secret')")
    sender.wait_for_url(f"{portal}/partner/webhooks/")
    assert "previous secret stays valid for 24 hours" in sender.locator("#new-secret").inner_text()
    sender.locator(f"#subscription-{subscription_id} button", has_text="Send test event").click()
    sender.wait_for_url(re.compile(re.escape(f"{portal}/partner/webhooks/{subscription_id}/deliveries/")))
    second_id = sender.locator("#deliveries tbody tr").first.locator(".font-monospace").inner_text().strip()
    assert second_id != event_id
    page.locator(f"#received-rows tr[data-event-id='{second_id}']").wait_for(timeout=30_000)
    assert "valid" in page.locator(f"#received-rows tr[data-event-id='{second_id}']").inner_text()

    # The subscription made here goes again, so the portal's own (made by the worker) stays its only one.
    credentials = portal_server.sandbox.credentials["partner-acme"]
    novacron.Client(
        novacron.SDKConfig(
            base_url=portal_server.sandbox.url,
            partner_id="partner-acme",
            api_key=credentials["api_key"],
            api_secret=credentials["api_secret"],
        )
    ).delete_webhook(subscription_id)
