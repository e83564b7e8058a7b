from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.webhook_payloads import event, migration_data, vm_data
from webhooks.models import WebhookEvent, WebhookRejection
from webhooks.services import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db


def test_it_stores_a_signed_event_answers_202_and_enqueues_it_after_commit(deliver, partner, enqueued):
    payload = event("vm.started", vm_data())
    response = deliver(payload)
    assert response.status_code == 202
    stored = WebhookEvent.objects.get(partner=partner)
    assert stored.event_id == payload["event_id"]
    assert stored.event_type == "vm.started"
    assert stored.payload == payload
    assert stored.status == WebhookEvent.Status.RECEIVED
    assert enqueued == [stored.pk]


def test_it_rejects_a_bad_signature_and_stores_nothing(deliver, partner, enqueued):
    response = deliver(event("vm.started", vm_data()), signature="0" * 64)
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert enqueued == []
    rejection = WebhookRejection.objects.get(partner=partner)
    assert rejection.reason == "bad_signature"
    assert rejection.count == 1
    assert rejection.last_addresses == ["127.0.0.1"]


def test_it_rejects_a_payload_signed_with_another_secret(deliver):
    response = deliver(event("vm.started", vm_data()), secret="whsec_someone_else_0123456789")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_it_rejects_a_missing_signature(deliver, partner):
    response = deliver(event("vm.started", vm_data()), sign=False)
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert WebhookRejection.objects.get(partner=partner).reason == "missing_signature"


def test_a_rejection_keeps_no_trace_of_the_body(deliver):
    deliver(event("alert.critical", {"message": "secret-looking-content"}), signature="f" * 64)
    row = WebhookRejection.objects.values().get()
    assert "secret-looking-content" not in str(row)


def test_it_accepts_the_previous_secret_during_a_rotation(deliver, partner):
    partner.previous_webhook_secret = "whsec_acme_previous_0123456789"
    partner.previous_webhook_secret_expires_at = timezone.now() + timedelta(hours=1)
    partner.webhook_secret = "whsec_acme_rotated_new_0123456789"
    partner.save()
    assert deliver(event("vm.started", vm_data()), secret="whsec_acme_previous_0123456789").status_code == 202
    assert (
        deliver(event("vm.stopped", vm_data()), secret="whsec_acme_rotated_new_0123456789").status_code == 202
    )
    assert WebhookEvent.objects.count() == 2


def test_it_refuses_the_previous_secret_once_it_expired(deliver, partner):
    partner.previous_webhook_secret = "whsec_acme_previous_0123456789"
    partner.previous_webhook_secret_expires_at = timezone.now() - timedelta(seconds=1)
    partner.webhook_secret = "whsec_acme_rotated_new_0123456789"
    partner.save()
    response = deliver(event("vm.started", vm_data()), secret="whsec_acme_previous_0123456789")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_it_refuses_an_oversized_body_with_413(deliver, partner):
    payload = event("vm.started", vm_data(padding="x" * (MAX_BODY_BYTES + 10)))
    response = deliver(payload)
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()
    assert WebhookRejection.objects.get(partner=partner).reason == "too_large"


def test_it_refuses_a_body_larger_than_its_declared_length(partner, client):
    # A lying Content-Length must not let a large body through: the read itself is bounded.
    body = b"{" + b" " * (MAX_BODY_BYTES + 100) + b"}"
    response = client.generic(
        "POST",
        "/webhooks/novacron/partner-acme/",
        body,
        content_type="application/json",
        HTTP_X_WEBHOOK_SIGNATURE="0" * 64,
        CONTENT_LENGTH="10",
    )
    assert response.status_code in (400, 401, 413)
    assert not WebhookEvent.objects.exists()


def test_it_answers_400_to_signed_malformed_json(deliver, partner):
    response = deliver(b'{"event_id": "evt_1", "event_type": ')
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert WebhookRejection.objects.get(partner=partner).reason == "malformed"


def test_it_answers_400_to_a_signed_body_without_an_event_id(deliver):
    response = deliver({"event_type": "vm.started", "data": {}})
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_it_stores_and_acknowledges_an_unknown_event_type_without_processing_it(deliver, enqueued):
    response = deliver(event("cluster.exploded", {"cluster_id": "cl-1"}))
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.Status.IGNORED
    assert enqueued == []


def test_a_duplicate_event_id_is_a_200_no_op(deliver, enqueued):
    payload = event("vm.started", vm_data())
    assert deliver(payload).status_code == 202
    again = dict(payload, data=vm_data(status="stopped"))
    response = deliver(again)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.payload["data"]["status"] == "running"
    assert len(enqueued) == 1


def test_an_unknown_partner_is_a_404_counted_without_a_partner(deliver):
    assert deliver(event("vm.started", vm_data()), partner_id="partner-nobody").status_code == 404
    assert deliver(event("vm.started", vm_data()), partner_id="partner-other").status_code == 404
    # One row for both: the unknown id, chosen by the sender, is not kept.
    row = WebhookRejection.objects.get()
    assert (row.partner, row.reason, row.count) == (None, "unknown_partner", 2)


def test_an_event_about_another_partner_is_refused(deliver):
    payload = event("vm.started", vm_data())
    payload["partner_id"] = "partner-globex"
    assert deliver(payload).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_one_partners_secret_does_not_open_another_partners_receiver(deliver, other_partner):
    response = deliver(event("vm.started", vm_data()), partner_id="partner-globex")
    assert response.status_code == 401


def test_it_only_accepts_post(client, partner):
    assert client.get("/webhooks/novacron/partner-acme/").status_code == 405


def test_out_of_order_deliveries_are_all_stored(deliver):
    late = event("migration.progress", migration_data(progress=40, updated=40))
    early = event("migration.progress", migration_data(progress=20, updated=20))
    assert deliver(late).status_code == 202
    assert deliver(early).status_code == 202
    assert WebhookEvent.objects.count() == 2


def test_a_test_event_is_acknowledged_but_never_applied_to_the_cache(deliver, enqueued):
    response = deliver(event("vm.created", vm_data(test=True)))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED
    assert enqueued == []


def test_a_signed_event_whose_data_is_not_an_object_is_malformed(deliver):
    response = deliver(
        {"event_id": "evt_x", "event_type": "vm.started", "partner_id": "partner-acme", "data": [1, 2]}
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the writer thread is for SQLite only")
@pytest.mark.django_db(transaction=True)
def test_on_sqlite_deliveries_are_stored_by_the_writer_thread(deliver, partner, enqueued):
    import threading

    payload = event("vm.started", vm_data())
    assert deliver(payload).status_code == 202
    assert deliver(payload).status_code == 200
    assert deliver(event("vm.started", vm_data()), signature="0" * 64).status_code == 401
    assert WebhookEvent.objects.get().event_id == payload["event_id"]
    assert WebhookRejection.objects.get().reason == "bad_signature"
    assert len(enqueued) == 1
    assert any(thread.name.startswith("webhook-writer") for thread in threading.enumerate())
