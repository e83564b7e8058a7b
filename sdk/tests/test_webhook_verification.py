from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from novacron import SignatureVerificationError, WebhookEvent
from novacron.webhooks import construct_event, sign_payload, verify_signature

SECRET = "whsec-0123456789abcdef"
# A delivery as the platform sends it: the raw body is signed, byte for byte.
RECORDED_BODY = (
    b'{"event_id":"evt_3f9a","event_type":"migration.completed","timestamp":"2026-01-15T10:00:00Z",'
    b'"partner_id":"partner-acme","data":{"migration_id":"mig-789","source_vm_id":"vm-123",'
    b'"target_cluster":"cluster-456","target_cluster_id":"cluster-456","duration_seconds":180,'
    b'"bytes_transferred":50000000000,"status":"completed","phase":"completed",'
    b'"progress_percentage":100.0}}'
)


def headers_for(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Webhook-Signature": sign_payload(body, secret),
        "X-Webhook-Event": "migration.completed",
        "X-Webhook-ID": "evt_3f9a",
        "X-Webhook-Timestamp": "1768471200",
    }


def test_it_constructs_a_typed_event_from_a_signed_delivery() -> None:
    event = construct_event(RECORDED_BODY, headers_for(RECORDED_BODY), SECRET)

    assert isinstance(event, WebhookEvent)
    assert event.event_id == "evt_3f9a"
    assert event.timestamp == datetime(2026, 1, 15, 10, tzinfo=UTC)
    migration = event.migration
    assert migration is not None
    assert migration.target_cluster_id == "cluster-456"
    assert migration.duration_seconds == 180
    assert event.vm is None


def test_it_rejects_a_bad_signature() -> None:
    with pytest.raises(SignatureVerificationError):
        construct_event(RECORDED_BODY, headers_for(RECORDED_BODY, secret="another-secret-0000"), SECRET)


def test_it_rejects_a_delivery_without_a_signature() -> None:
    with pytest.raises(SignatureVerificationError, match="missing"):
        construct_event(RECORDED_BODY, {"Content-Type": "application/json"}, SECRET)


def test_header_names_are_matched_case_insensitively() -> None:
    signature = sign_payload(RECORDED_BODY, SECRET)

    for headers in ({"x-webhook-signature": signature}, {"HTTP_X_WEBHOOK_SIGNATURE": signature}):
        assert construct_event(RECORDED_BODY, headers, SECRET).event_id == "evt_3f9a"


def test_during_a_rotation_either_secret_verifies() -> None:
    new_secret = "whsec-rotated-000000"
    signed_with_new = headers_for(RECORDED_BODY, new_secret)

    event = construct_event(RECORDED_BODY, signed_with_new, [SECRET, new_secret])

    assert event.event_type == "migration.completed"
    with pytest.raises(SignatureVerificationError):
        construct_event(RECORDED_BODY, signed_with_new, [SECRET])


def test_a_signed_body_that_is_not_an_object_is_refused() -> None:
    body = b'["not", "an", "event"]'

    with pytest.raises(SignatureVerificationError, match="object"):
        construct_event(body, headers_for(body), SECRET)


def test_a_vm_event_exposes_its_vm() -> None:
    body = json.dumps(
        {
            "event_id": "evt_1",
            "event_type": "vm.created",
            "timestamp": "2026-01-15T10:00:00Z",
            "partner_id": "partner-acme",
            "data": {"vm_id": "vm-1", "status": "provisioning"},
        }
    ).encode()

    event = construct_event(body, headers_for(body), SECRET)

    assert event.vm is not None and event.vm.vm_id == "vm-1"
    assert event.migration is None


def test_verify_signature_is_false_for_empty_inputs() -> None:
    assert not verify_signature(RECORDED_BODY, "", SECRET)
    assert not verify_signature(RECORDED_BODY, sign_payload(RECORDED_BODY, SECRET), "")


@given(
    payload=st.binary(max_size=2048),
    secret=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=64),
)
def test_a_signature_verifies_its_own_payload(payload: bytes, secret: str) -> None:
    assert verify_signature(payload, sign_payload(payload, secret), secret)


@given(
    payload=st.binary(min_size=1, max_size=2048), position=st.integers(min_value=0), flip=st.integers(1, 255)
)
def test_a_tampered_payload_fails_verification(payload: bytes, position: int, flip: int) -> None:
    signature = sign_payload(payload, SECRET)
    index = position % len(payload)
    tampered = payload[:index] + bytes([payload[index] ^ flip]) + payload[index + 1 :]

    assert not verify_signature(tampered, signature, SECRET)
    with pytest.raises(SignatureVerificationError):
        construct_event(tampered, {"X-Webhook-Signature": signature}, SECRET)


@given(extra=st.binary(min_size=1, max_size=64))
def test_appending_bytes_to_a_recorded_body_fails_verification(extra: bytes) -> None:
    signature = sign_payload(RECORDED_BODY, SECRET)

    assert not verify_signature(RECORDED_BODY + extra, signature, SECRET)
