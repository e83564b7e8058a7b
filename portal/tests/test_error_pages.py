from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from portal import errors
from tests.factories import make_migration, make_vm
from webhooks.models import Notification, WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.urls("portal.tests.error_urls")]

# The portal's brand in the navigation bar (signed in, "Partner Portal" gives way on a phone).
LAYOUT_BRAND = re.compile(r'NovaCron <span class="text-body-secondary fw-normal[^"]*">Partner Portal</span>')


def _database_down() -> Any:
    return mock.patch.object(
        BaseDatabaseWrapper, "ensure_connection", side_effect=OperationalError("could not connect to server")
    )


def _assert_portal_page(response: Any, status: int) -> str:
    body = response.content.decode()
    assert response.status_code == status
    assert LAYOUT_BRAND.search(body) and "css/portal.css" in body
    assert f'id="error-page" data-status="{status}"' in body
    assert 'href="/">Back to the overview</a>' in body
    return body


@override_settings(DEBUG=False)
@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/fail/400/", 400, "The portal could not read this request"),
        ("/fail/403/", 403, "Not allowed"),
        ("/fail/404/", 404, "Page not found"),
        ("/no-such-page/", 404, "Page not found"),
        ("/fail/500/", 500, "Something went wrong on our side"),
    ],
)
def test_each_error_page_is_in_the_portal_layout_with_a_way_back(path, status, title):
    response = Client(raise_request_exception=False).get(path)

    body = _assert_portal_page(response, status)
    assert title in body


@override_settings(DEBUG=False)
def test_a_signed_out_visitor_is_offered_to_sign_in_from_a_404():
    body = Client().get("/no-such-page/").content.decode()

    assert 'href="/accounts/login/">Sign in</a>' in body


@override_settings(DEBUG=False)
def test_a_signed_in_person_keeps_their_navigation_on_a_404(owner, client_of):
    body = client_of(owner).get("/no-such-page/").content.decode()

    assert 'href="/vms/">VMs</a>' in body and "Acme Corp" in body
    assert ">Sign in</a>" not in body


@override_settings(DEBUG=False)
def test_django_s_own_404_and_403_messages_are_never_shown():
    not_found = Client().get("/fail/404/").content.decode()
    forbidden = Client().get("/fail/403/").content.decode()

    assert "No VM matches the given query" not in not_found
    assert "CSRF token from POST incorrect" not in forbidden
    assert "You don't have permission to open this page." in forbidden


@override_settings(DEBUG=False)
def test_a_403_shows_the_reason_the_portal_gave():
    body = Client().get("/fail/403-ours/").content.decode()

    assert '<p class="card-text" id="refusal-reason">Only a partner admin may rotate this secret.</p>' in body


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/vms/vm-00001/", "/vms/vm-00001/migrate/", "/vms/vm-00001/delete/"])
def test_another_partners_vm_reads_as_not_in_your_organisation(partner, outsider, client_of, path):
    make_vm(partner, 1, name="acme-box")

    response = client_of(outsider).get(path)

    body = _assert_portal_page(response, 404)
    assert "This VM isn&#x27;t in your organisation" in body
    assert "acme-box" not in body


@override_settings(DEBUG=False)
def test_another_partners_migration_reads_as_not_in_your_organisation(partner, outsider, client_of):
    make_migration(partner, "mig-acme-1", "vm-00001")

    body = client_of(outsider).get("/migrations/mig-acme-1/").content.decode()

    assert "This migration isn&#x27;t in your organisation" in body


@override_settings(DEBUG=False)
def test_another_partners_notification_and_received_event_read_as_not_in_your_organisation(
    partner, outsider, client_of
):
    notification = Notification.objects.create(
        partner=partner,
        kind="alert.critical",
        source_event_id="evt_1",
        title="Critical alert",
        message="CPU",
        created_at=timezone.now(),
    )
    event = WebhookEvent.objects.create(
        partner=partner, event_id="evt_2", event_type="quota.exceeded", payload={}, received_at=timezone.now()
    )
    client = client_of(outsider)

    acknowledged = client.post(f"/webhooks/notifications/{notification.pk}/acknowledge/").content.decode()
    payload = client.get(f"/partner/webhooks/received/{event.pk}/payload/").content.decode()

    assert "This notification isn&#x27;t in your organisation" in acknowledged
    assert "This received event isn&#x27;t in your organisation" in payload


@override_settings(DEBUG=False)
def test_a_vm_that_does_not_exist_reads_the_same_as_another_partners(owner, client_of):
    body = client_of(owner).get("/vms/vm-99999/").content.decode()

    assert "This VM isn&#x27;t in your organisation" in body


@override_settings(DEBUG=False)
def test_a_csrf_failure_explains_the_expired_form_and_offers_to_reload_it(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post("/accounts/logout/", HTTP_REFERER="http://testserver/vms/vm-00001/")

    body = _assert_portal_page(response, 403)
    assert "This form has expired" in body and "allow cookies" in body
    assert 'href="http://testserver/vms/vm-00001/" id="reload-form">Reload the form</a>' in body


@override_settings(DEBUG=False)
def test_a_csrf_failure_never_links_back_to_another_site():
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/logout/", HTTP_REFERER="https://evil.example/form"
    )

    body = _assert_portal_page(response, 403)
    assert "evil.example" not in body
    assert 'href="/accounts/login/">Sign in</a>' in body


@override_settings(DEBUG=False)
def test_the_500_page_renders_for_a_signed_in_person_while_the_database_is_down(owner):
    client = Client(raise_request_exception=False)
    client.force_login(owner)

    with _database_down():
        response = client.get("/vms/")

    body = _assert_portal_page(response, 500)
    assert 'href="/vms/">Try again</a>' in body


@override_settings(DEBUG=False)
def test_the_500_handler_needs_no_database():
    with _database_down():
        response = errors.server_error(RequestFactory().get("/migrations/"))

    _assert_portal_page(response, 500)


@override_settings(DEBUG=False)
@pytest.mark.parametrize(("method", "path"), [("post", "/vms/new/"), ("get", "//evil.example/")])
def test_the_500_page_offers_a_retry_only_when_it_is_harmless(method, path):
    request = getattr(RequestFactory(), method)("/")
    # Set directly: the factory would read "//evil.example/" as a host, a raw request line does not.
    request.path = path

    response = errors.server_error(request)

    body = _assert_portal_page(response, 500)
    assert "Try again" not in body


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/fail/400/", "/fail/403/", "/fail/404/", "/fail/500/"])
def test_error_pages_have_no_inline_script_or_style(path):
    body = Client(raise_request_exception=False).get(path).content.decode()

    assert "<style" not in body and " style=" not in body
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", body))
