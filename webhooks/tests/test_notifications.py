from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from webhooks.models import Notification

pytestmark = pytest.mark.django_db


def _notification(partner: Any, n: int = 1, kind: str = "alert.critical") -> Notification:
    return Notification.objects.create(
        partner=partner,
        kind=kind,
        source_event_id=f"evt_{n}",
        title=f"Critical alert on vm-{n:04d}",
        message="CPU above 95%",
        created_at=timezone.now(),
    )


def test_every_page_shows_unacknowledged_notifications_in_a_banner(client_of, viewer, partner):
    _notification(partner)
    page = client_of(viewer).get("/webhooks/notifications/").content.decode()
    banner = page.split('id="notifications-banner"', 1)[1].split('id="live-notifications"', 1)[0]
    assert "Critical alert on vm-0001" in banner


def test_the_banner_never_shows_another_partners_notifications(client_of, outsider, partner):
    _notification(partner)
    page = client_of(outsider).get("/webhooks/notifications/").content.decode()
    assert "vm-0001" not in page


def test_acknowledging_records_who_and_removes_it_from_the_banner(client_of, viewer, partner):
    notification = _notification(partner)
    client = client_of(viewer)
    response = client.post(
        f"/webhooks/notifications/{notification.pk}/acknowledge/", {"next": "/webhooks/notifications/"}
    )
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.acknowledged_by == viewer
    assert notification.acknowledged_at is not None
    assert "Critical alert on vm-0001" not in client.get("/webhooks/notifications/").content.decode()
    assert "Critical alert on vm-0001" in client.get("/webhooks/notifications/?show=all").content.decode()


def test_acknowledge_refuses_an_outside_redirect(client_of, viewer, partner):
    notification = _notification(partner)
    response = client_of(viewer).post(
        f"/webhooks/notifications/{notification.pk}/acknowledge/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/webhooks/notifications/"


def test_another_partners_notification_cannot_be_acknowledged(client_of, outsider, partner):
    notification = _notification(partner)
    assert (
        client_of(outsider).post(f"/webhooks/notifications/{notification.pk}/acknowledge/").status_code == 404
    )
    notification.refresh_from_db()
    assert notification.acknowledged_at is None


def test_acknowledge_needs_a_post(client_of, viewer, partner):
    notification = _notification(partner)
    assert client_of(viewer).get(f"/webhooks/notifications/{notification.pk}/acknowledge/").status_code == 405


def test_the_list_is_paginated(client_of, viewer, partner):
    for n in range(30):
        _notification(partner, n)
    client = client_of(viewer)
    assert client.get("/webhooks/notifications/").content.decode().count('id="notification-row-') == 25
    assert client.get("/webhooks/notifications/?page=2").content.decode().count('id="notification-row-') == 5
