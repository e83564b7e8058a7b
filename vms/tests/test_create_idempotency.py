"""The create-VM form carries its own Idempotency-Key: posting it twice creates one VM."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from tests.factories import make_cluster
from tests.fakes import ROOT, error_body, vm_payload
from vms.models import VM
from vms.tests.test_create import CHECK, URL, valid_form

pytestmark = pytest.mark.django_db


class KeyedNovaCron:
    """POST /vms as NovaCron answers it: one VM per Idempotency-Key, a repeat replays the stored answer."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], str]] = {}
        self.keys_seen: list[str] = []
        self.created = 0
        self.refuse_next = False

    def create(self, request: Any) -> tuple[int, dict[str, str], str]:
        key = request.headers["Idempotency-Key"]
        self.keys_seen.append(key)
        if key in self.answers:
            status, headers, body = self.answers[key]
            return status, {**headers, "Idempotent-Replayed": "true"}, body
        if self.refuse_next:
            self.refuse_next = False
            answer = (
                400,
                {},
                error_body("validation_error", "bad", fields={"network_id": ["unknown network"]}),
            )
        else:
            self.created += 1
            spec = json.loads(request.body)
            answer = (
                201,
                {},
                json.dumps(vm_payload(100 + self.created, name=spec["name"], status="provisioning")),
            )
        self.answers[key] = answer
        return answer


@pytest.fixture
def clusters(partner: Any) -> list[Any]:
    return [make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")]


@pytest.fixture
def novacron(mocked_api: responses.RequestsMock) -> KeyedNovaCron:
    fake = KeyedNovaCron()
    mocked_api.post(CHECK, json={"allowed": True, "quota": "vm_create_per_day", "limit": 200, "used": 1,
                                 "remaining": 199})  # fmt: skip
    mocked_api.add_callback(
        responses.POST, f"{ROOT}/vms", callback=fake.create, content_type="application/json"
    )
    return fake


def _rendered_key(page: str) -> str:
    match = re.search(r'<input type="hidden" name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert match, "the form carries no idempotency key"
    return match.group(1)


def test_the_form_renders_a_fresh_key_each_time(
    clusters: Any, writer: Any, client_of: Any, novacron: Any
) -> None:
    browser = client_of(writer)
    first, second = (_rendered_key(browser.get(URL).content.decode()) for _ in range(2))
    assert first != second


def test_two_posts_of_one_rendered_form_create_one_vm(clusters: Any, writer: Any, client_of: Any,
                                                      novacron: KeyedNovaCron) -> None:  # fmt: skip
    browser = client_of(writer)
    key = _rendered_key(browser.get(URL).content.decode())

    first = browser.post(URL, valid_form(idempotency_key=key))
    second = browser.post(URL, valid_form(idempotency_key=key))  # the double click

    assert novacron.keys_seen == [key, key]
    assert novacron.created == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == "/vms/vm-00101/"
    assert VM.objects.filter(name="api-01").count() == 1


def test_a_form_without_its_key_is_refused_before_novacron(clusters: Any, writer: Any, client_of: Any,
                                                           novacron: KeyedNovaCron) -> None:  # fmt: skip
    response = client_of(writer).post(URL, valid_form(idempotency_key="not-a-key"))

    assert response.status_code == 200 and novacron.created == 0 and novacron.keys_seen == []


def test_after_novacron_refuses_the_corrected_form_goes_out_with_a_new_key(
    clusters: Any, writer: Any, client_of: Any, novacron: KeyedNovaCron
) -> None:
    browser = client_of(writer)
    key = _rendered_key(browser.get(URL).content.decode())
    novacron.refuse_next = True

    refused = browser.post(URL, valid_form(idempotency_key=key)).content.decode()
    renewed = _rendered_key(refused)
    created = browser.post(URL, valid_form(idempotency_key=renewed, network_id="net-2"))

    assert "unknown network" in refused and renewed != key
    assert created.status_code == 302 and novacron.created == 1
