"""Every POST route of the portal is audited: one row on success, one on refusal, with the outcome.

The routes come from tests/urlconf.py (as the rest of this suite), so a new POST view fails
`test_every_post_route_is_audited_or_says_why_not` until it carries `@audited` or `@not_audited`, and
fails the two outcome tests until a case here shows what its success and its refusal look like.
NovaCron is the `responses` world of the query budgets, plus the one write each case makes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import responses
from django.conf import settings
from django.urls import resolve

from audit.models import AuditEntry
from tests.fakes import ROOT, error_body, migration_payload, vm_payload
from tests.security.test_urlconf_access import (
    ACTIONS,
    CSRF_EXEMPT,
    _csrf_client,
    _own_ids,
    _people,
    _url,
)
from tests.test_query_budgets import (
    PARTNER_API,
    RATE_LIMIT,
    Portal,
    delivery_json,
    integration_json,
    subscription_json,
)
from tests.urlconf import Route, routes
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

Outcome = AuditEntry.Outcome
# POST routes that are no person's write, each with the reason its view declares.
NOT_AUDITED = {*CSRF_EXEMPT, "accounts/login/"}
# NovaCron's refusal of a write in every case: its 403 `forbidden`, which every page answers with a page.
REFUSAL = {"status": 403, "body": error_body("forbidden", "Your role may not do this"), "headers": RATE_LIMIT}


@dataclass
class Case:
    """A successful POST of the route: its form, the NovaCron write it makes (method, URL, answer)."""

    data: dict[str, Any] = field(default_factory=dict)
    write: tuple[str, str, dict[str, Any]] | None = None
    setup: Callable[[Portal], None] = lambda portal: None


def _stopped(portal: Portal) -> None:
    portal.partner.vms.filter(vm_id="vm-00002").update(status="stopped")


def _failed_item(portal: Portal, status: str = "failed") -> None:
    from jobs.models import JobItem

    JobItem.objects.filter(job__job_id="job-00001", vm_id="vm-00001").update(status=status)


def _job_finished(portal: Portal) -> None:
    from jobs.models import Job

    Job.objects.filter(job_id="job-00001").update(status=Job.Status.FINISHED)


def _ok(body: Any, status: int = 200) -> dict[str, Any]:
    return {"status": status, "body": json.dumps(body) if body is not None else "", "headers": RATE_LIMIT}


VM_FORM = {
    "name": "audited-vm",
    "template": "ubuntu-22.04",
    "cpu_cores": "2",
    "memory_gb": "4",
    "disk_size_gb": "50",
    "network_id": "net-1",
    "cloud_provider": "aws",
    "region": "us-east-1",
    "cluster": "",
    "tags": "env:prod",
    "idempotency_key": "0" * 32,
}
INTEGRATION_FORM = {
    "name": "Backup 7",
    "type": "api",
    "status": "active",
    "config": "retention_days = 30",
    "endpoints-TOTAL_FORMS": "0",
    "endpoints-INITIAL_FORMS": "0",
    "endpoints-MIN_NUM_FORMS": "0",
    "endpoints-MAX_NUM_FORMS": "1000",
}
SUBSCRIPTION = f"{PARTNER_API}/webhooks/whs-00001"

CASES: dict[str, Case] = {
    "accounts/disconnect/": Case(),
    "accounts/logout/": Case(),
    "accounts/time-zone/": Case({"time_zone": "Asia/Kolkata"}),
    "accounts/time-zone/detect/": Case({"time_zone": "America/Sao_Paulo"}),
    "webhooks/notifications/<int:pk>/acknowledge/": Case(),
    "vms/new/": Case(VM_FORM, ("POST", f"{ROOT}/vms", _ok(vm_payload(77, name="audited-vm"), 201))),
    "vms/<str:vm_id>/start/": Case(
        write=("POST", f"{ROOT}/vms/vm-00002/start", _ok(vm_payload(2))), setup=_stopped
    ),
    "vms/<str:vm_id>/stop/": Case(
        write=("POST", f"{ROOT}/vms/vm-00002/stop", _ok(vm_payload(2, status="stopped")))
    ),
    "vms/<str:vm_id>/delete/": Case(write=("DELETE", f"{ROOT}/vms/vm-00002", _ok(None, 204))),
    "vms/<str:vm_id>/migrate/": Case(
        {"target_cluster": "cl-aws-use1-b", "migration_type": "live", "verify_after_migration": "on"},
        ("POST", f"{ROOT}/migrations", _ok(migration_payload("mig-00077", source_vm_id="vm-00002"), 201)),
    ),
    "migrations/<str:migration_id>/cancel/": Case(
        write=(
            "POST",
            f"{ROOT}/migrations/mig-00001/cancel",
            _ok(migration_payload("mig-00001", status="cancelled")),
        )
    ),
    "partner/integrations/new/": Case(
        INTEGRATION_FORM, ("POST", f"{PARTNER_API}/integrations", _ok(integration_json(7), 201))
    ),
    "partner/integrations/<str:integration_id>/edit/": Case(
        INTEGRATION_FORM, ("PATCH", f"{PARTNER_API}/integrations/int-00001", _ok(integration_json(1)))
    ),
    "partner/integrations/<str:integration_id>/delete/": Case(
        write=("DELETE", f"{PARTNER_API}/integrations/int-00001", _ok(None, 204))
    ),
    "partner/webhooks/new/": Case(
        {"url": "http://testserver/webhooks/novacron/partner-acme/", "events": ["vm.created"]},
        ("POST", f"{PARTNER_API}/webhooks", _ok(subscription_json(7), 201)),
    ),
    "partner/webhooks/<str:subscription_id>/delete/": Case(write=("DELETE", SUBSCRIPTION, _ok(None, 204))),
    "partner/webhooks/<str:subscription_id>/rotate/": Case(
        write=("PATCH", SUBSCRIPTION, _ok(subscription_json(1)))
    ),
    "partner/webhooks/<str:subscription_id>/test/": Case(
        write=("POST", f"{SUBSCRIPTION}/test", _ok(delivery_json(1), 202))
    ),
    "partner/webhooks/<str:subscription_id>/deliveries/<str:delivery_id>/redeliver/": Case(
        write=("POST", f"{SUBSCRIPTION}/deliveries/dlv-00001/redeliver", _ok(delivery_json(1), 202))
    ),
    "partner/webhooks/received/<int:pk>/reprocess/": Case(),
    # Bulk jobs talk to NovaCron only when their items run (in Celery, after the request).
    "jobs/new/": Case({"action": "stop", "selection": "filter"}),
    "jobs/<str:job_id>/cancel/": Case(),
    "jobs/<str:job_id>/retry/": Case(setup=lambda portal: _failed_item(portal)),
    "jobs/evacuate/<str:cluster_id>/": Case({"migration_type": "live"}),
}


def _route(name: str) -> Route:
    [route] = [r for r in routes() if r.route == name]
    return route


def _post(
    portal: Portal, person: Any, name: str, case: Case, answer: dict[str, Any] | None, url: str = ""
) -> Any:
    """POST the case's form as `person`, NovaCron answering the write with `answer`; the new audit row."""
    client = _csrf_client(person)
    url = url or _url(_route(name), _own_ids(portal), partner=portal.partner)
    before = AuditEntry.objects.count()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        portal.answer(mock)
        if case.write and answer is not None:
            method, novacron_url, _ = case.write
            mock.add(method, novacron_url, **answer)
        client.post(
            url,
            # Every portal form carries its own Idempotency-Key, made when it was rendered.
            {"idempotency_key": uuid.uuid4().hex, **case.data},
            headers={"X-CSRFToken": client.cookies[settings.CSRF_COOKIE_NAME].value},
        )
    assert AuditEntry.objects.count() - before == 1, f"{name}: not exactly one audit row"
    return AuditEntry.objects.order_by("-id").first()


def test_every_post_route_is_audited_or_says_why_not() -> None:
    post_routes = set(ACTIONS) | set(CSRF_EXEMPT)
    unmarked = [
        name
        for name in sorted(post_routes)
        if not (
            getattr(_route(name).callback, "audit_action", None)
            or getattr(_route(name).callback, "audit_exempt", None)
        )
    ]
    assert unmarked == [], f"POST routes with neither @audited nor @not_audited: {unmarked}"
    exempt = {name for name in post_routes if getattr(_route(name).callback, "audit_exempt", None)}
    assert exempt == NOT_AUDITED, (
        "a POST route stopped being audited, or a new one is exempt: justify it here"
    )
    assert set(CASES) == post_routes - NOT_AUDITED, "each audited route needs a case here"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_successful_post_writes_one_row_saying_so(
    portal: Portal, grant: Callable[..., Any], name: str
) -> None:
    case = CASES[name]
    case.setup(portal)
    admin = _people(portal, grant)["admin"]

    url = _url(_route(name), _own_ids(portal), partner=portal.partner)
    entry = _post(portal, admin, name, case, case.write[2] if case.write else None, url)

    assert (entry.outcome, entry.reason) == (Outcome.SUCCESS, "")
    assert entry.action == _route(name).callback.audit_action
    assert (entry.actor, entry.partner, entry.actor_role) == (admin, portal.partner, "admin")
    assert entry.address == "127.0.0.1"
    argument = _route(name).callback.audit_object_argument
    if argument in _route(name).parameters:
        assert entry.object_id == str(resolve(url).kwargs[argument])


# Routes NovaCron can refuse (their case makes a write there), and what refuses the rest.
PORTAL_REFUSALS: dict[str, Callable[[Portal], None]] = {
    # Another partner's notification, or one gone: a 404, recorded as refused (the URL names none).
    "webhooks/notifications/<int:pk>/acknowledge/": lambda portal: None,
    # An event of a kind the portal does not apply: nothing is reprocessed.
    "partner/webhooks/received/<int:pk>/reprocess/": lambda portal: WebhookEvent.objects.filter(
        partner=portal.partner
    ).update(status=WebhookEvent.Status.IGNORED),
    # A zone the IANA database does not have: nothing stored.
    "accounts/time-zone/": lambda portal: None,
    "accounts/time-zone/detect/": lambda portal: None,
    # No action chosen: the job form is invalid and nothing is created.
    "jobs/new/": lambda portal: None,
    # A job that has ended cannot be cancelled; one without failed items has nothing to retry.
    "jobs/<str:job_id>/cancel/": _job_finished,
    "jobs/<str:job_id>/retry/": lambda portal: _failed_item(portal, status="pending"),
    # Every VM of the cluster left out: nothing to move.
    "jobs/evacuate/<str:cluster_id>/": lambda portal: None,
}
PORTAL_REFUSAL_FORMS = {
    "jobs/new/": {"selection": "filter"},
    "jobs/evacuate/<str:cluster_id>/": {f"target-vm-{n:05d}": "exclude" for n in range(1, 60)},
    "accounts/time-zone/": {"time_zone": "Mars/Olympus"},
    "accounts/time-zone/detect/": {"time_zone": "Mars/Olympus"},
}
# Disconnect cannot be refused: revoking at NovaCron may fail, but the tokens are forgotten all the same
# (the row says whether NovaCron revoked them: parameters.revoked_at_novacron).
# Signing out cannot be refused either: the session ends whatever else happens.
UNREFUSABLE = {"accounts/disconnect/", "accounts/logout/"}


@pytest.mark.parametrize("name", sorted(set(CASES) - UNREFUSABLE))
def test_a_refused_post_writes_one_row_with_who_refused_and_why(
    portal: Portal, grant: Callable[..., Any], name: str
) -> None:
    case = CASES[name]
    case.setup(portal)
    admin = _people(portal, grant)["admin"]
    if name in PORTAL_REFUSALS:
        PORTAL_REFUSALS[name](portal)
        missing = "/webhooks/notifications/999999/acknowledge/" if "notifications" in name else ""
        if name in PORTAL_REFUSAL_FORMS:
            case = Case(PORTAL_REFUSAL_FORMS[name])
        entry = _post(portal, admin, name, case, None, missing)
        assert entry.outcome == Outcome.REFUSED_BY_PORTAL
        assert entry.error_code and entry.reason
        return

    entry = _post(portal, admin, name, case, REFUSAL)

    assert (entry.outcome, entry.error_code, entry.novacron_request_id) == (
        Outcome.REFUSED_BY_NOVACRON,
        "forbidden",
        "req_test",
    ), name
    assert entry.action == _route(name).callback.audit_action


@pytest.mark.parametrize("name", sorted(name for name, roles in ACTIONS.items() if "viewer" not in roles))
def test_a_role_refused_by_the_portal_writes_one_row(
    portal: Portal, grant: Callable[..., Any], name: str
) -> None:
    viewer = _people(portal, grant)["viewer"]

    entry = _post(portal, viewer, name, CASES[name], None)

    assert (entry.outcome, entry.actor, entry.actor_role) == (Outcome.REFUSED_BY_PORTAL, viewer, "viewer"), (
        name
    )
    assert entry.action == _route(name).callback.audit_action


def test_a_form_the_portal_refuses_is_recorded_with_nothing_sent(
    portal: Portal, grant: Callable[..., Any]
) -> None:
    admin = _people(portal, grant)["admin"]

    entry = _post(portal, admin, "partner/webhooks/new/", Case({"url": "not a url", "events": []}), None)

    assert (entry.outcome, entry.error_code, entry.novacron_request_id) == (
        Outcome.REFUSED_BY_PORTAL,
        "invalid",
        "",
    )
    assert entry.parameters == {"url": "not a url"}


def test_nothing_secret_is_kept_and_declared_fields_are(portal: Portal, grant: Callable[..., Any]) -> None:
    admin = _people(portal, grant)["admin"]
    case = CASES["vms/new/"]

    entry = _post(portal, admin, "vms/new/", case, case.write[2] if case.write else None)

    assert entry.object_id == "vm-00077" and entry.object_link == "/vms/vm-00077/"
    assert entry.parameters["name"] == "audited-vm" and "idempotency_key" not in entry.parameters
    assert "csrfmiddlewaretoken" not in json.dumps(entry.parameters)
