"""An alert names the VM as people know it, links to it, carries units, and its text does not repeat
its title."""

from __future__ import annotations

from typing import Any

import pytest

from live.models import Event
from tests.factories import make_vm
from tests.webhook_payloads import event
from webhooks.models import Notification
from webhooks.tests.test_processing import process  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _alert(metric: str, value: float, threshold: float) -> dict[str, Any]:
    return event(
        "alert.critical",
        {
            "alert_id": "alrt-1",
            "severity": "critical",
            "resource_type": "vm",
            "resource_id": "vm-00007",
            "metric": metric,
            "value": value,
            "threshold": threshold,
            "message": f"{metric} above {threshold} for 5 minutes on vm-00007.",
        },
    )


def test_an_alert_names_the_vm_links_to_it_and_says_its_unit(
    process: Any,  # noqa: F811
    partner: Any,
    client_of: Any,
    owner: Any,
) -> None:
    make_vm(partner, 7, name="checkout-db")

    process(_alert("network_in", 9400.25, 8000))

    notification = Notification.objects.get(partner=partner)
    assert notification.title == "Network in at 9400.2 Mbit/s on checkout-db"
    assert notification.message == "Above the threshold of 8000 Mbit/s."
    assert notification.title not in notification.message and notification.message not in notification.title
    toast = Event.objects.get(topic="notification").html
    page = client_of(owner).get("/webhooks/notifications/").content.decode()
    for html in (toast, page):
        assert '<a class="alert-link" href="/vms/vm-00007/">' in html or '<a href="/vms/vm-00007/">' in html
        assert "checkout-db" in html and "vm-00007" not in html.replace("/vms/vm-00007/", "")
