"""Every ModelAdmin registered on the admin site is audited: each add, change, delete and action it
allows writes exactly one audit row saying so, and each it refuses writes exactly one refused row.

The cases come from `admin.site._registry`, so a model registered later is covered here without anyone
remembering: what the admin allows is asked of the ModelAdmin itself (a read-only mirror, the audit log,
is expected to refuse), the forms are what the admin renders (read from its HTML as a browser would
send them back). A new model only needs a way to make one of its rows in `MAKERS` and, if its admin
lets a superuser add one, the fields a valid one needs in `ADD_FIELDS`; the test fails until it has
them. A model whose admin cannot be exercised this way goes in `NOT_GENERIC` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import responses
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db.models import Model
from django.test import Client, RequestFactory

from audit.admin_site import partner_of
from audit.models import AuditEntry
from audit.services import entry_record
from tests.factories import make_cluster, make_migration, make_vm, record_sync
from tests.fakes import API, T0, error_body
from vms.models import VM

pytestmark = pytest.mark.django_db
Outcome = AuditEntry.Outcome

REGISTERED = sorted(model._meta.label_lower for model in admin.site._registry)
# The log itself: the admin must refuse every change to it (append-only).
APPEND_ONLY = {"audit.auditentry"}
# Admins that cannot be driven by the generic cases below, each with why (none today).
NOT_GENERIC: dict[str, str] = {}


def _user(partner: Any) -> Model:
    from accounts.models import User

    return User.objects.create_user("made@acme.example", "made@acme.example", partner=partner, role="viewer")


def _partner(partner: Any) -> Model:
    from partners.models import Partner

    return Partner.objects.create(
        partner_id="partner-initech", name="Initech", tier="silver", type="technology"
    )


def _webhook_event(partner: Any) -> Model:
    from webhooks.models import WebhookEvent

    return WebhookEvent.objects.create(
        partner=partner,
        event_id="evt-admin-1",
        event_type="vm.stopped",
        payload={"vm_id": "vm-00001"},
        received_at=T0,
        status=WebhookEvent.Status.FAILED,
    )


def _webhook_rejection(partner: Any) -> Model:
    from webhooks.models import WebhookRejection

    return WebhookRejection.objects.create(
        partner=partner, reason=WebhookRejection.Reason.BAD_SIGNATURE, minute=T0, count=3, last_at=T0
    )


def _notification(partner: Any) -> Model:
    from webhooks.models import Notification

    return Notification.objects.create(
        partner=partner, kind="alert.critical", source_event_id="evt-9", title="CPU high", created_at=T0
    )


def _live_event(partner: Any) -> Model:
    from live.models import Event

    return Event.objects.create(partner=partner, topic="vms", html="<p>x</p>", created_at=T0)


def _job(partner: Any) -> Model:
    from jobs.models import Job

    return Job.objects.create(
        partner=partner, kind=Job.Kind.STOP, created_at=T0, created_by_email="op@acme.example"
    )


def _job_item(partner: Any) -> Model:
    from jobs.models import JobItem

    return JobItem.objects.create(job=_job(partner), vm_id="vm-00001", vm_name="web-1", position=0)


def _audit_entry(partner: Any) -> Model:
    return entry_record(request=None, actor=None, partner=partner, action="vm.stop", outcome=Outcome.SUCCESS)


# One row of each registered model, belonging to `partner` where the model has partners.
MAKERS: dict[str, Callable[[Any], Model]] = {
    "accounts.user": _user,
    "auth.group": lambda partner: Group.objects.create(name="operators"),
    "partners.partner": _partner,
    "audit.auditentry": _audit_entry,
    "vms.vm": lambda partner: make_vm(partner, 1),
    "vms.migration": lambda partner: make_migration(partner, "mig-00001", "vm-00001"),
    "vms.cluster": lambda partner: make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1"),
    "vms.syncrun": lambda partner: record_sync(partner, finished_at=T0 + timedelta(minutes=1)),
    "webhooks.webhookevent": _webhook_event,
    "webhooks.webhookrejection": _webhook_rejection,
    "webhooks.notification": _notification,
    "live.event": _live_event,
    "jobs.job": _job,
    "jobs.jobitem": _job_item,
}
# What a valid add form needs beyond the defaults the add page renders (admins that allow adding).
ADD_FIELDS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "accounts.user": lambda partner: {
        "username": "new@acme.example",
        "email": "new@acme.example",
        "usable_password": "false",
        "partner": str(partner.pk),
        "role": "operator",
    },
    "auth.group": lambda partner: {"name": "night operators"},
    "partners.partner": lambda partner: {
        "partner_id": "partner-hooli",
        "name": "Hooli",
        "type": "technology",
        "tier": "gold",
        "status": "active",
    },
}


class _FormReader(HTMLParser):
    """The fields of the admin's change form (`<form id="…_form">`) as a browser would post them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: tuple[str, bool] | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._in_form = attr.get("id", "").endswith("_form")
        if not self._in_form or "disabled" in attr:
            return
        name = attr.get("name", "")
        if tag == "input" and name:
            kind = attr.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attr:
                    self.data.setdefault(name, []).append(attr.get("value") or "on")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.data.setdefault(name, []).append(attr.get("value", ""))
        elif tag == "select" and name:
            self._select, self._options = (name, "multiple" in attr), []
        elif tag == "option" and self._select is not None:
            self._options.append((attr.get("value", ""), "selected" in attr))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select is not None:
            name, multiple = self._select
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self.data[name] = chosen
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.data[self._textarea] = [self._text.removeprefix("\n")]
            self._textarea = None


def rendered_form(client: Client, url: str) -> dict[str, list[str]]:
    page = client.get(url)
    assert page.status_code == 200, f"{url}: {page.status_code}"
    reader = _FormReader()
    reader.feed(page.content.decode())
    assert reader.data, f"{url}: no change form on the page"
    return reader.data


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def root() -> Any:
    from accounts.models import User

    return User.objects.create_superuser("root", "root@portal.example", "pw-unused-here")


@pytest.fixture
def outsider_staff(other_partner: Any) -> Any:
    """Globex's staff, holding every model permission there is: only tenancy can refuse them."""
    from accounts.models import User

    user = User.objects.create_user(
        "staff@globex.example", "staff@globex.example", partner=other_partner, role="admin", is_staff=True
    )
    user.user_permissions.set(Permission.objects.all())
    return user


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def model_admin(label: str) -> Any:
    [found] = [ma for model, ma in admin.site._registry.items() if model._meta.label_lower == label]
    return found


def allows(label: str, user: Any, what: str, obj: Model | None = None) -> bool:
    request = RequestFactory().get("/admin/")
    request.user = user
    check = getattr(model_admin(label), f"has_{what}_permission")
    return bool(check(request) if what == "add" else check(request, obj))


def admin_url(label: str, view: str, obj: Model | None = None) -> str:
    app_label, model_name = label.split(".")
    base = f"/admin/{app_label}/{model_name}/"
    return {"add": f"{base}add/", "changelist": base}.get(view) or f"{base}{obj.pk}/{view}/"  # type: ignore[union-attr]


def one_new_row(before: int) -> AuditEntry:
    new = list(AuditEntry.objects.filter(pk__gt=before).order_by("pk"))
    assert len(new) == 1, f"expected exactly one audit row, got {[str(row) for row in new]}"
    return new[0]


def last_row_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def post(client: Client, url: str, data: dict[str, Any]) -> tuple[Any, AuditEntry]:
    before = last_row_id()
    # Admin actions may call NovaCron (the partner's connection test): it answers, quickly, no.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as novacron:
        novacron.add(
            responses.GET,
            re.compile(f"{re.escape(API)}.*"),
            status=401,
            body=error_body("unauthorized", "no"),
        )
        answer = client.post(url, data)
    return answer, one_new_row(before)


def exercised(label: str) -> None:
    if label in NOT_GENERIC:
        pytest.skip(NOT_GENERIC[label])


def test_every_registered_admin_has_a_case() -> None:
    missing = sorted(set(REGISTERED) - set(MAKERS) - set(NOT_GENERIC))
    assert missing == [], f"registered in the admin, with no way to make a row here (MAKERS): {missing}"
    assert set(REGISTERED) >= APPEND_ONLY


@pytest.mark.parametrize("label", REGISTERED)
def test_add(label: str, root: Any, partner: Any) -> None:
    exercised(label)
    client = signed_in(root)
    if not allows(label, root, "add"):
        answer, row = post(client, admin_url(label, "add"), {})
        assert answer.status_code == 403
        assert (row.action, row.outcome, row.error_code, row.object_type) == (
            "admin.add",
            Outcome.REFUSED_BY_PORTAL,
            "forbidden",
            label,
        )
        return
    assert label not in APPEND_ONLY
    assert label in ADD_FIELDS, f"{label}: its admin allows adding; say what a valid one needs in ADD_FIELDS"
    defaults = rendered_form(client, admin_url(label, "add"))

    refused, row = post(client, admin_url(label, "add"), {**defaults, "_save": "Save"})
    assert refused.status_code == 200  # the form again, with its errors
    assert (row.action, row.outcome, row.error_code) == ("admin.add", Outcome.REFUSED_BY_PORTAL, "invalid")

    answer, row = post(
        client, admin_url(label, "add"), {**defaults, **ADD_FIELDS[label](partner), "_save": "Save"}
    )
    assert answer.status_code == 302, (
        f"{label}: add refused: {getattr(answer, 'context_data', {}).get('errors')}"
    )
    model = model_admin(label).model
    made = model.objects.get(pk=row.object_id)
    assert (row.action, row.outcome, row.object_type, row.actor) == (
        "admin.add",
        Outcome.SUCCESS,
        label,
        root,
    )
    assert row.partner == partner_of(made)


@pytest.mark.parametrize("label", REGISTERED)
def test_change(label: str, root: Any, partner: Any, outsider_staff: Any) -> None:
    exercised(label)
    obj = MAKERS[label](partner)
    client = signed_in(root)
    url = admin_url(label, "change", obj)
    if not allows(label, root, "change", obj):
        answer, row = post(client, url, {"_save": "Save"})
        assert answer.status_code == 403
        assert (row.action, row.outcome, row.error_code, row.object_id) == (
            "admin.change",
            Outcome.REFUSED_BY_PORTAL,
            "forbidden",
            str(obj.pk),
        )
        return
    assert label not in APPEND_ONLY

    answer, row = post(client, url, {**rendered_form(client, url), "_save": "Save"})
    assert answer.status_code == 302, (
        f"{label}: change refused: {getattr(answer, 'context_data', {}).get('errors')}"
    )
    assert (row.action, row.outcome, row.object_type, row.object_id) == (
        "admin.change",
        Outcome.SUCCESS,
        label,
        str(obj.pk),
    )
    assert (row.actor, row.partner) == (root, partner_of(obj))

    # Another partner's staff, whatever permissions they hold, is refused, and that is recorded.
    answer, row = post(signed_in(outsider_staff), url, {"_save": "Save"})
    assert answer.status_code in (403, 404)
    assert (row.action, row.outcome, row.actor) == ("admin.change", Outcome.REFUSED_BY_PORTAL, outsider_staff)


@pytest.mark.parametrize("label", REGISTERED)
def test_delete(label: str, root: Any, partner: Any, outsider_staff: Any) -> None:
    exercised(label)
    obj = MAKERS[label](partner)
    model = type(obj)
    url = admin_url(label, "delete", obj)
    if not allows(label, root, "delete", obj):
        answer, row = post(signed_in(root), url, {"post": "yes"})
        assert answer.status_code == 403
        assert (row.action, row.outcome, row.error_code) == (
            "admin.delete",
            Outcome.REFUSED_BY_PORTAL,
            "forbidden",
        )
        assert model.objects.filter(pk=obj.pk).exists()
        return
    assert label not in APPEND_ONLY
    owner_partner = partner_of(obj)

    answer, row = post(signed_in(outsider_staff), url, {"post": "yes"})
    assert answer.status_code in (403, 404)
    assert (row.action, row.outcome, row.actor) == ("admin.delete", Outcome.REFUSED_BY_PORTAL, outsider_staff)
    assert model.objects.filter(pk=obj.pk).exists()

    answer, row = post(signed_in(root), url, {"post": "yes"})
    assert answer.status_code == 302
    assert (row.action, row.outcome, row.object_type, row.object_id) == (
        "admin.delete",
        Outcome.SUCCESS,
        label,
        str(obj.pk),
    )
    assert row.partner_id == getattr(owner_partner, "pk", None)  # the partner itself may be gone
    assert not model.objects.filter(pk=obj.pk).exists()


def _actions_of(label: str, user: Any) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return sorted(model_admin(label).get_actions(request))


@pytest.mark.parametrize("label", REGISTERED)
def test_each_changelist_action(label: str, root: Any, partner: Any, outsider_staff: Any) -> None:
    """Each action the admin offers a superuser, run on one object: one row (Django's delete writes
    `admin.delete`, the others `admin.action` naming the action); another partner's staff selecting
    that object runs nothing of it, and that is recorded as refused."""
    exercised(label)
    for name in _actions_of(label, root):
        obj = MAKERS[label](partner)
        model = type(obj)
        form = {"action": name, "_selected_action": [str(obj.pk)], "index": "0", "post": "yes"}
        expected = "admin.delete" if name == "delete_selected" else "admin.action"

        answer, row = post(signed_in(outsider_staff), admin_url(label, "changelist"), form)
        assert answer.status_code in (302, 403, 404), (label, name)
        assert (row.action, row.outcome, row.actor) == (
            expected,
            Outcome.REFUSED_BY_PORTAL,
            outsider_staff,
        ), (
            label,
            name,
        )

        answer, row = post(signed_in(root), admin_url(label, "changelist"), form)
        assert answer.status_code == 302, (label, name)
        assert (row.action, row.outcome, row.object_type, row.object_id) == (
            expected,
            Outcome.SUCCESS,
            label,
            str(obj.pk),
        ), (label, name)
        if expected == "admin.action":
            assert row.parameters == {"action": name, "count": 1, "objects": [str(obj.pk)]}
            assert row.partner == partner_of(obj)
        else:
            assert not model.objects.filter(pk=obj.pk).exists()
        if model.objects.filter(pk=obj.pk).exists():
            obj.delete()  # the next action gets a fresh object (unique ids)


def test_the_audit_log_refuses_every_change_in_the_admin(root: Any, partner: Any) -> None:
    for label in APPEND_ONLY:
        entry = MAKERS[label](partner)
        for what in ("add", "change", "delete"):
            assert not allows(label, root, what, None if what == "add" else entry), (label, what)
        assert "delete_selected" not in _actions_of(label, root)


def test_an_unknown_action_or_an_empty_selection_is_recorded_as_refused(root: Any, partner: Any) -> None:
    vm = make_vm(partner, 1)

    answer, row = post(
        signed_in(root),
        "/admin/vms/vm/",
        {"action": "delete_selected", "_selected_action": [str(vm.pk)], "index": "0", "post": "yes"},
    )
    assert answer.status_code in (200, 302)  # an admin with no actions just shows its list
    assert VM.objects.filter(pk=vm.pk).exists()
    assert (row.action, row.outcome, row.error_code) == ("admin.delete", Outcome.REFUSED_BY_PORTAL, "invalid")

    answer, row = post(
        signed_in(root), "/admin/webhooks/webhookevent/", {"action": "reprocess", "index": "0"}
    )
    assert (row.action, row.outcome, row.parameters["action"]) == (
        "admin.action",
        Outcome.REFUSED_BY_PORTAL,
        "reprocess",
    )


def test_the_admins_own_password_change_is_recorded(root: Any) -> None:
    client = signed_in(root)
    root.set_password("old-Passw0rd-long")
    root.save()
    client.force_login(root)

    _, row = post(client, "/admin/password_change/", {"old_password": "wrong"})
    assert (row.action, row.outcome, row.error_code) == ("admin.change", Outcome.REFUSED_BY_PORTAL, "invalid")

    new = "a-New-passw0rd-that-is-long"
    answer, row = post(
        client,
        "/admin/password_change/",
        {"old_password": "old-Passw0rd-long", "new_password1": new, "new_password2": new},
    )
    assert answer.status_code == 302
    assert (row.action, row.outcome, row.object_id, row.parameters["change"]) == (
        "admin.change",
        Outcome.SUCCESS,
        str(root.pk),
        "Changed password.",
    )
    assert new not in str(row.parameters)
