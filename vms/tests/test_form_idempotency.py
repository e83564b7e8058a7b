"""Every form that asks NovaCron to act carries its own Idempotency-Key: the key rendered in the page
is the key NovaCron receives, so a double click or a retried POST acts once."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.utils import timezone

from tests.factories import make_cluster, make_vm
from tests.webhook_payloads import migration_data
from vms.models import VM, Migration
from vms.tests.test_migration_views import API, _migration

pytestmark = pytest.mark.django_db


class OncePerKey:
    """A POST of NovaCron's: one piece of work per Idempotency-Key, a repeat replays the first answer."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.keys: list[str] = []
        self.replies: dict[str, tuple[int, dict[str, str], str]] = {}

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        key = request.headers["Idempotency-Key"]
        self.keys.append(key)
        if key not in self.replies:
            self.replies[key] = (200, {}, json.dumps(self.answer(len(self.replies))))
        return self.replies[key]

    @property
    def done(self) -> int:
        return len(self.replies)


@pytest.fixture
def vm(partner: Any) -> VM:
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_cluster(partner, "cl-aws-usw2-a", "aws", "us-west-2")
    return make_vm(partner, 1, vm_id="vm-0001", name="web-0001", updated_at=timezone.now())


@pytest.fixture
def mocked_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _keys(page: str, action: str) -> list[str]:
    """The keys of the forms posting to `action` in a page."""
    forms = re.findall(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S)
    return [k for form in forms for k in re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', form)]


def test_a_double_click_on_stop_stops_the_vm_once(
    client_of: Any,
    operator: Any,
    grant: Any,
    vm: Any,
    mocked_api: responses.RequestsMock,
) -> None:
    grant(operator, "openid vm:read vm:write")
    mocked_api.get(f"{API}/vms/vm-0001", status=503, json={"error": {"code": "unavailable", "message": "x"}})
    stop = OncePerKey(lambda n: {**_vm_json(), "status": "stopped"})
    mocked_api.add_callback(responses.POST, f"{API}/vms/vm-0001/stop", callback=stop)
    browser = client_of(operator)
    [key] = _keys(browser.get("/vms/vm-0001/").content.decode(), "/vms/vm-0001/stop/")

    first = browser.post("/vms/vm-0001/stop/", {"idempotency_key": key})
    second = browser.post("/vms/vm-0001/stop/", {"idempotency_key": key})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == "/vms/vm-0001/"
    assert stop.keys == [key] and stop.done == 1  # the second went where the first did


def test_a_stop_from_an_out_of_date_page_is_not_sent(
    client_of: Any,
    operator: Any,
    grant: Any,
    vm: Any,
    mocked_api: responses.RequestsMock,
) -> None:
    grant(operator, "openid vm:read vm:write")
    stop = OncePerKey(lambda n: _vm_json())
    mocked_api.add_callback(responses.POST, f"{API}/vms/vm-0001/stop", callback=stop)

    response = client_of(operator).post("/vms/vm-0001/stop/", {"idempotency_key": "forged"})

    assert response.status_code == 302 and stop.keys == []


def test_a_double_submit_of_the_migration_form_starts_one_migration(
    client_of: Any,
    operator: Any,
    grant: Any,
    vm: Any,
    mocked_api: responses.RequestsMock,
) -> None:
    grant(operator, "openid vm:read migration:execute")
    start = OncePerKey(lambda n: migration_data(f"mig-00{40 + n}", status="pending", phase="pre_check"))
    mocked_api.add_callback(responses.POST, f"{API}/migrations", callback=start)
    browser = client_of(operator)
    [key] = _keys(browser.get("/vms/vm-0001/migrate/").content.decode(), "/vms/vm-0001/migrate/")
    form = {"target_cluster": "cl-aws-usw2-a", "migration_type": "live", "idempotency_key": key}

    first, second = browser.post("/vms/vm-0001/migrate/", form), browser.post("/vms/vm-0001/migrate/", form)

    assert first["Location"] == second["Location"] == "/migrations/mig-0040/"
    assert start.keys == [key] and start.done == 1  # the second went where the first did
    assert Migration.objects.count() == 1


def test_a_repeat_that_overtakes_the_first_reaches_novacron_with_the_same_key(
    client_of: Any, operator: Any, grant: Any, vm: Any, mocked_api: responses.RequestsMock
) -> None:
    """Both clicks in flight at once: the portal has no answer to remember yet, NovaCron has the key."""
    grant(operator, "openid vm:read migration:execute")
    start = OncePerKey(lambda n: migration_data(f"mig-00{40 + n}", status="pending", phase="pre_check"))
    mocked_api.add_callback(responses.POST, f"{API}/migrations", callback=start)
    form = {"target_cluster": "cl-aws-usw2-a", "migration_type": "live", "idempotency_key": "a" * 32}
    client_of(operator).post("/vms/vm-0001/migrate/", form)
    from django.core.cache import cache

    cache.clear()  # as if the second had passed the portal's checks before the first was answered
    VM.objects.filter(vm_id="vm-0001").update(status="running")
    Migration.objects.all().delete()

    second = client_of(operator).post("/vms/vm-0001/migrate/", form)

    assert second["Location"] == "/migrations/mig-0040/"
    assert start.keys == ["a" * 32] * 2 and start.done == 1


def test_the_cancel_button_keeps_its_key_while_the_migration_is_unchanged(
    client_of: Any,
    operator: Any,
    grant: Any,
    vm: Any,
    partner: Any,
    mocked_api: Any,
) -> None:
    grant(operator, "openid vm:read migration:execute")
    migration = _migration(partner)
    browser = client_of(operator)
    url = f"/migrations/{migration.migration_id}/"
    action = f"/migrations/{migration.migration_id}/cancel/"

    once, again = (_keys(browser.get(url).content.decode(), action) for _ in range(2))
    Migration.objects.filter(pk=migration.pk).update(updated_at=migration.updated_at.replace(year=2030))
    changed = _keys(browser.get(url).content.decode(), action)

    assert once and once == again and changed != once


def _vm_json() -> dict[str, Any]:
    return {
        "vm_id": "vm-0001",
        "partner_id": "partner-acme",
        "name": "web-0001",
        "status": "running",
        "template": "ubuntu-24.04",
        "cpu_cores": 2,
        "memory_gb": 4,
        "disk_size_gb": 50,
        "network_id": "net-1",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "cluster": "cl-aws-use1-a",
        "ip_address": "10.0.0.1",
        "tags": {},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2030-01-01T00:00:00Z",
        "deleted_at": None,
    }
