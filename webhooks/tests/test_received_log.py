from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from partners.models import Partner
from webhooks import delivery_log
from webhooks.models import Notification, WebhookEvent, WebhookRejection

# The webhooks tests clear the cache (a database table without Redis) before each test.
pytestmark = pytest.mark.django_db

LOG_URL = "/partner/webhooks/received/"


def refusal_counted(
    partner: Partner,
    *,
    reason: str = "bad_signature",
    count: int = 1,
    addresses: list[str] | None = None,
    minutes_ago: int = 0,
) -> WebhookRejection:
    now = timezone.now()
    return WebhookRejection.objects.create(
        partner=partner,
        reason=reason,
        minute=now.replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago),
        count=count,
        last_at=now,
        last_addresses=addresses or [],
    )


def stored_event(partner: Partner, event_id: str, **fields: Any) -> WebhookEvent:
    payload = {
        "event_id": event_id,
        "event_type": fields.get("event_type", "quota.exceeded"),
        "timestamp": "2026-01-15T10:30:00Z",
        "partner_id": partner.partner_id,
        "data": {"quota": "vm_create_per_day", "limit": 10, "used": 10, "requested": 1, "message": "full"},
    }
    defaults = {
        "event_type": payload["event_type"],
        "payload": payload,
        "received_at": timezone.now(),
        "status": WebhookEvent.Status.PROCESSED,
    }
    fields = {**defaults, **fields}
    if fields["status"] == WebhookEvent.Status.PROCESSED:
        fields.setdefault("processed_at", fields["received_at"] + timedelta(milliseconds=12.5))
    return WebhookEvent.objects.create(partner=partner, event_id=event_id, **fields)


@pytest.fixture
def eager_celery() -> Iterator[None]:
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_the_log_shows_accepted_events_and_refused_deliveries(
    partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    stored_event(partner, "evt_ok_1")
    stored_event(partner, "evt_bad_1", status=WebhookEvent.Status.FAILED, error="KeyError: 'quota'")
    refusal_counted(partner, reason=WebhookRejection.Reason.BAD_SIGNATURE, count=7, addresses=["127.0.0.9"])

    response = client_of(owner).get(LOG_URL)

    assert response.status_code == 200
    assert "evt_ok_1" in response.text
    assert "13 ms" in response.text or "12 ms" in response.text
    assert "KeyError" in response.text
    assert "Bad Signature" in response.text
    assert "127.0.0.9" in response.text
    assert [entry.event.event_id for entry in response.context["entries"]] == ["evt_bad_1", "evt_ok_1"]
    assert [(r.reason, r.count) for r in response.context["refusals"]] == [("bad_signature", 7)]


def test_the_log_says_why_a_test_event_was_ignored(
    partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    event = stored_event(partner, "evt_test_1", event_type="vm.created", status=WebhookEvent.Status.IGNORED)
    event.payload["data"] = {"test": True}
    event.save()

    response = client_of(owner).get(LOG_URL)

    assert "test event: nothing to apply" in response.text


def test_the_log_costs_the_same_few_queries_however_long_it_is(
    partner: Partner, owner: Any, client_of: Callable[[Any], Any], django_assert_max_num_queries: Any
) -> None:
    client = client_of(owner)
    for number in range(60):
        stored_event(partner, f"evt_many_{number}")
        refusal_counted(partner, minutes_ago=number)

    # session, user, partner, events, refusal counts, the user's token (the layout's can-migrate flag),
    # the live stream's newest event id, notifications and their unread count
    with django_assert_max_num_queries(9):
        response = client.get(LOG_URL)

    assert len(response.context["entries"]) == 50
    assert len(response.context["refusals"]) == delivery_log.REFUSAL_ROWS


def test_the_log_never_shows_another_partners_events(
    partner: Partner, other_partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    stored_event(partner, "evt_acme")
    stored_event(other_partner, "evt_globex")
    refusal_counted(other_partner, addresses=["10.9.9.9"])

    response = client_of(owner).get(LOG_URL)

    assert "evt_acme" in response.text
    assert "evt_globex" not in response.text
    assert "10.9.9.9" not in response.text


def test_the_log_rows_alone_come_back_for_polling(
    partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    stored_event(partner, "evt_polled")

    response = client_of(owner).get(LOG_URL + "?rows=1", headers={"HX-Request": "true"})

    assert response.text.lstrip().startswith('<tbody id="received-rows"')
    assert "evt_polled" in response.text
    assert "<html" not in response.text


def test_the_log_page_listens_to_the_live_stream_and_polls_as_a_fallback(
    partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    response = client_of(owner).get(LOG_URL)

    topics = re.search(r'id="live-stream"[^>]*data-live-topics="([^"]*)"', response.text)
    assert topics is not None and "webhook-log" in topics.group(1).split(",")
    assert 'data-poll-url="/partner/webhooks/received/?rows=1"' in response.text
    assert 'hx-trigger="every 5s"' in response.text


def test_publishing_sends_the_refreshed_rows_to_the_partners_pages(partner: Partner) -> None:
    from live.models import Event

    stored_event(partner, "evt_live_1")

    delivery_log.webhook_log_publish(partner=partner)

    event = Event.objects.get(partner=partner, topic="webhook-log")
    assert 'id="received-rows" hx-swap-oob="true"' in event.html
    assert "evt_live_1" in event.html


def test_the_payload_viewer_shows_pretty_json(
    partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    event = stored_event(partner, "evt_payload")

    response = client_of(owner).get(
        f"/partner/webhooks/received/{event.pk}/payload/", headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="payload-viewer"')
    assert "<pre" in response.text
    assert "  &quot;event_id&quot;: &quot;evt_payload&quot;" in response.text


def test_another_partners_payload_is_a_404(
    other_partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    event = stored_event(other_partner, "evt_globex_secret")

    assert client_of(owner).get(f"/partner/webhooks/received/{event.pk}/payload/").status_code == 404
    assert client_of(owner).post(f"/partner/webhooks/received/{event.pk}/reprocess/").status_code == 404


def test_reprocessing_a_failed_event_applies_it_again(
    partner: Partner,
    owner: Any,
    client_of: Callable[[Any], Any],
    eager_celery: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = stored_event(partner, "evt_retry", status=WebhookEvent.Status.FAILED, error="boom")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(owner).post(f"/partner/webhooks/received/{event.pk}/reprocess/")

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert Notification.objects.filter(partner=partner, source_event_id="evt_retry").exists()


def test_an_ignored_event_is_not_offered_for_reprocessing(
    partner: Partner, owner: Any, client_of: Callable[[Any], Any]
) -> None:
    event = stored_event(partner, "evt_test_delivery", status=WebhookEvent.Status.IGNORED)
    client = client_of(owner)

    assert f"/partner/webhooks/received/{event.pk}/reprocess/" not in client.get(LOG_URL).text
    response = client.post(f"/partner/webhooks/received/{event.pk}/reprocess/", follow=True)

    assert "nothing to reprocess" in response.text
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.IGNORED


@pytest.mark.parametrize("role_fixture", ["operator", "viewer"])
def test_operators_and_viewers_cannot_see_the_log(
    partner: Partner, request: pytest.FixtureRequest, client_of: Callable[[Any], Any], role_fixture: str
) -> None:
    event = stored_event(partner, "evt_hidden")
    user = request.getfixturevalue(role_fixture)

    assert client_of(user).get(LOG_URL).status_code == 403
    assert client_of(user).get(f"/partner/webhooks/received/{event.pk}/payload/").status_code == 403
    assert client_of(user).post(f"/partner/webhooks/received/{event.pk}/reprocess/").status_code == 403


def test_a_published_rows_reprocess_button_posts_through_htmx_and_reloads_the_page(
    partner: Partner,
    owner: Any,
    client_of: Callable[[Any], Any],
    eager_celery: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = stored_event(partner, "evt_live_retry", status=WebhookEvent.Status.FAILED, error="boom")
    url = f"/partner/webhooks/received/{event.pk}/reprocess/"

    html = delivery_log.rows_html(partner=partner)  # as pushed to every user's page: no CSRF token inside
    assert f'hx-post="{url}"' in html and "csrfmiddlewaretoken" not in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(owner).post(url, headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Refresh"] == "true"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
