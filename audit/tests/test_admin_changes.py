"""Changes made in the Django admin are audited, one row per object, superusers' included."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db
Outcome = AuditEntry.Outcome


@pytest.fixture
def root() -> Any:
    from accounts.models import User

    return User.objects.create_superuser("root", "root@portal.example", "pw-unused-here")


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("id"))


def test_add_change_and_delete_each_write_one_row(root: Any) -> None:
    client = signed_in(root)

    client.post("/admin/auth/group/add/", {"name": "operators"})
    group = Group.objects.get(name="operators")
    client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "night operators"})
    client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})

    assert [(row.action, row.object_type, row.object_id, row.outcome) for row in rows()] == [
        ("admin.add", "auth.group", str(group.pk), Outcome.SUCCESS),
        ("admin.change", "auth.group", str(group.pk), Outcome.SUCCESS),
        ("admin.delete", "auth.group", str(group.pk), Outcome.SUCCESS),
    ]
    assert all(row.actor == root and row.address == "127.0.0.1" for row in rows())
    assert rows()[1].parameters["change"] == "Changed Name."  # which fields, never their values
    assert rows()[0].object_link == f"/admin/auth/group/{group.pk}/change/"


def test_a_form_the_admin_refuses_writes_one_refused_row(root: Any) -> None:
    signed_in(root).post("/admin/auth/group/add/", {"name": ""})

    [row] = rows()
    assert (row.action, row.outcome, row.error_code) == ("admin.add", Outcome.REFUSED_BY_PORTAL, "invalid")
    assert "name" in row.reason


def test_a_permission_the_admin_refuses_writes_one_refused_row(partner: Any) -> None:
    from accounts.models import User

    staff = User.objects.create_user("staff@acme.example", partner=partner, role="admin", is_staff=True)
    group = Group.objects.create(name="ops")

    answer = signed_in(staff).post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})

    assert answer.status_code == 403
    [row] = rows()
    assert (row.action, row.outcome, row.error_code, row.partner) == (
        "admin.delete",
        Outcome.REFUSED_BY_PORTAL,
        "forbidden",
        partner,
    )
    assert Group.objects.filter(pk=group.pk).exists()


def test_a_superusers_change_to_a_partners_object_is_in_that_partners_log(
    root: Any, partner: Any, owner: Any
) -> None:
    signed_in(root).post(f"/admin/accounts/user/{owner.pk}/delete/", {"post": "yes"})

    [row] = rows()
    assert (row.action, row.object_type, row.partner, row.actor) == (
        "admin.delete",
        "accounts.user",
        partner,
        root,
    )


def test_a_confirmation_page_is_not_a_change() -> None:
    """The first step of the changelist's delete action only asks: nothing is recorded until it is done."""
    from accounts.models import User

    root = User.objects.create_superuser("root2", "root2@portal.example", "pw-unused-here")
    group = Group.objects.create(name="ops")

    signed_in(root).post("/admin/auth/group/", {"action": "delete_selected", "_selected_action": [group.pk]})

    assert rows() == []


def test_every_registered_model_admin_belongs_to_the_audited_site() -> None:
    """Structural: the site wraps every admin view, so a model registered later is audited too."""
    from django.contrib import admin

    from audit.admin_site import AuditedAdminSite

    assert admin.site._registry
    assert all(
        isinstance(model_admin.admin_site, AuditedAdminSite) for model_admin in admin.site._registry.values()
    )
