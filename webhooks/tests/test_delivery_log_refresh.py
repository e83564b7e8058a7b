"""The received-webhooks log page is refreshed live: on receipt, on refusal and when processing ends."""

from __future__ import annotations

from typing import Any

import pytest

from live.models import Event
from tests.webhook_payloads import event, vm_data
from webhooks import services, tasks
from webhooks.models import WebhookEvent
from webhooks.services import WEBHOOK_LOG_PUBLISH_DELAY_SECONDS, WEBHOOK_LOG_WINDOW_SECONDS

pytestmark = pytest.mark.django_db


def _run_queued(log_refreshes: list[tuple[int, float]]) -> None:
    for partner_pk, _countdown in log_refreshes:
        tasks.publish_webhook_log(partner_pk)


def test_storing_an_event_publishes_the_log_rows_to_that_partner_only(
    deliver, partner, other_partner, log_refreshes
):
    payload = event("vm.started", vm_data())

    assert deliver(payload).status_code == 202
    _run_queued(log_refreshes)

    published = Event.objects.get(topic="webhook-log")
    assert published.partner == partner
    assert 'id="received-rows" hx-swap-oob="true"' in published.html
    assert payload["event_id"] in published.html
    assert not Event.objects.filter(partner=other_partner).exists()


def test_a_refused_delivery_refreshes_the_log(deliver, partner, log_refreshes):
    assert deliver(event("vm.started", vm_data()), signature="0" * 64).status_code == 401
    _run_queued(log_refreshes)

    html = Event.objects.get(partner=partner, topic="webhook-log").html
    assert 'id="refusal-rows" hx-swap-oob="true"' in html
    assert "Bad Signature" in html


def test_a_redelivery_changes_nothing_and_refreshes_nothing(deliver, partner, log_refreshes):
    from django.core.cache import cache

    payload = event("vm.started", vm_data())
    deliver(payload)
    cache.clear()  # a new window: only the redelivery itself could queue a refresh now
    log_refreshes.clear()

    assert deliver(payload).status_code == 200
    assert log_refreshes == []


def test_a_burst_of_deliveries_queues_one_refresh_that_runs_after_the_window(deliver, partner, log_refreshes):
    for index in range(3):
        deliver(event("vm.started", vm_data(updated=index)))
    deliver(event("vm.started", vm_data()), signature="0" * 64)

    assert log_refreshes == [(partner.pk, WEBHOOK_LOG_PUBLISH_DELAY_SECONDS)]
    assert WEBHOOK_LOG_PUBLISH_DELAY_SECONDS > WEBHOOK_LOG_WINDOW_SECONDS


def test_each_partner_has_its_own_window(deliver, partner, other_partner, log_refreshes):
    services.webhook_log_refresh_soon(partner_pk=other_partner.pk)
    deliver(event("vm.started", vm_data()))

    assert [pk for pk, _ in log_refreshes] == [other_partner.pk, partner.pk]


@pytest.mark.parametrize("fails", [False, True])
def test_finishing_processing_refreshes_the_log(
    partner, log_refreshes, django_capture_on_commit_callbacks: Any, monkeypatch, fails
):
    from django.core.cache import cache

    if fails:
        monkeypatch.setattr(
            services, "vm_apply_event", lambda **kwargs: (_ for _ in ()).throw(RuntimeError("boom"))
        )
    receipt = services.webhook_event_store(partner=partner, payload=event("vm.started", vm_data()))
    cache.clear()  # the receipt's window is over by the time the worker finishes

    with django_capture_on_commit_callbacks(execute=True):
        try:
            services.webhook_event_process(event_pk=receipt.event.pk)
        except RuntimeError:
            assert fails
    _run_queued(log_refreshes)

    status = WebhookEvent.Status.FAILED if fails else WebhookEvent.Status.PROCESSED
    html = Event.objects.get(partner=partner, topic="webhook-log").html
    assert f">{status}</span>" in html


def test_a_broker_failure_does_not_fail_the_delivery_and_the_next_change_retries(
    deliver, partner, monkeypatch, log_refreshes
):
    def broker_down(args: Any, countdown: float) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.publish_webhook_log, "apply_async", broker_down)
    assert deliver(event("vm.started", vm_data())).status_code == 202

    monkeypatch.setattr(
        tasks.publish_webhook_log, "apply_async", lambda args, countdown: log_refreshes.append(args[0])
    )
    deliver(event("vm.started", vm_data(updated=5)))
    assert log_refreshes == [partner.pk]
