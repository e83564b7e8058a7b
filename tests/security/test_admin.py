"""The Django admin: groups and permissions are for superusers only, no staff member can raise their
own rights, and the password login locks after repeated failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import User
from partners.models import Partner

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    # Real sign-ins hash the password each time: a cheap hasher keeps six attempts quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser() -> User:
    return User.objects.create_user("root", "root@portal.example", PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def staff(partner: Partner) -> User:
    """Acme's staff, not a superuser, holding every auth permission there is (as a careless grant would)."""
    user = User.objects.create_user(
        "staff@acme.example", "staff@acme.example", PASSWORD, partner=partner, role="admin", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["auth", "accounts"]))
    return user


@pytest.fixture
def other_tenants_group(other_partner: Partner) -> Group:
    group = Group.objects.create(name="globex-operators")
    group.permissions.set(Permission.objects.filter(codename="view_vm"))
    return group


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def group_pages(group: Group) -> list[str]:
    return [
        "/admin/auth/group/",
        "/admin/auth/group/add/",
        f"/admin/auth/group/{group.pk}/change/",
        f"/admin/auth/group/{group.pk}/delete/",
    ]


def test_a_staff_member_who_is_not_a_superuser_gets_403_on_every_group_page(
    staff: User, other_tenants_group: Group
) -> None:
    client = signed_in(staff)
    for page in group_pages(other_tenants_group):
        assert client.get(page).status_code == 403, page


def test_a_staff_member_cannot_change_a_group_by_posting_directly(
    staff: User, other_tenants_group: Group
) -> None:
    everything = Permission.objects.values_list("pk", flat=True)
    response = signed_in(staff).post(
        f"/admin/auth/group/{other_tenants_group.pk}/change/",
        {"name": "globex-operators", "permissions": list(everything)},
    )

    assert response.status_code == 403
    assert list(other_tenants_group.permissions.values_list("codename", flat=True)) == ["view_vm"]
    assert signed_in(staff).post("/admin/auth/group/add/", {"name": "mine"}).status_code == 403
    assert not Group.objects.filter(name="mine").exists()


def test_groups_are_not_on_a_staff_members_admin_index(staff: User) -> None:
    assert "/admin/auth/group/" not in signed_in(staff).get("/admin/").content.decode()


def test_a_superuser_manages_groups(superuser: User, other_tenants_group: Group) -> None:
    client = signed_in(superuser)
    for page in group_pages(other_tenants_group):
        assert client.get(page).status_code == 200, page

    response = client.post("/admin/auth/group/add/", {"name": "auditors"})

    assert response.status_code == 302
    assert Group.objects.filter(name="auditors").exists()


def test_permissions_have_no_admin_page(staff: User, superuser: User) -> None:
    assert signed_in(staff).get("/admin/auth/permission/").status_code == 404
    assert signed_in(superuser).get("/admin/auth/permission/").status_code == 404


def test_a_staff_member_cannot_make_themselves_superuser_or_grant_themselves_permissions(
    staff: User, other_tenants_group: Group
) -> None:
    page = f"/admin/accounts/user/{staff.pk}/change/"
    held = set(staff.user_permissions.values_list("pk", flat=True))
    form = signed_in(staff).get(page)
    assert form.status_code == 200
    body = form.content.decode()
    for field in ("is_superuser", "user_permissions", "groups"):
        assert f'name="{field}"' not in body, field

    saved = signed_in(staff).post(
        page,
        {
            "username": staff.username,
            "full_name": "Renamed",
            "email": staff.email,
            "role": "admin",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [other_tenants_group.pk],
            "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            **management_forms(body),
        },
    )

    assert saved.status_code == 302, saved.context[
        "adminform"
    ].form.errors  # the form was accepted: only the fields it may change changed
    staff.refresh_from_db()
    assert staff.full_name == "Renamed"
    assert not staff.is_superuser
    assert not staff.groups.exists()
    assert set(staff.user_permissions.values_list("pk", flat=True)) == held


def management_forms(page: str) -> dict[str, str]:
    """The inline formsets' hidden counters, as the browser would send them back."""
    import re

    fields = re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)" value="(\d*)"', page)
    return dict(fields)


# --- the password login's lockout ----------------------------------------------------------------


def admin_login(client: Client, username: str, password: str) -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR="203.0.113.7",
    )


def fail_five_times(client: Client, username: str) -> None:
    for _ in range(5):
        response = admin_login(client, username, "wrong password")
        if response.status_code == 429:
            return
        assert response.status_code == 200  # the form again, with its error


def test_the_sixth_attempt_is_locked_out_even_with_the_right_password(superuser: User) -> None:
    client = Client()
    fail_five_times(client, "root")

    response = admin_login(client, "root", PASSWORD)

    assert response.status_code == 429
    body = response.content.decode()
    assert "Sign-in locked for now" in body and 'id="lockout-reason"' in body
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still signed out


def test_the_lockout_ends_after_the_cool_off(superuser: User, settings: Any) -> None:
    client = Client()
    fail_five_times(client, "root")
    assert admin_login(client, "root", PASSWORD).status_code == 429

    # The attempts are now older than the cool-off (moved down to a microsecond, not waited for).
    settings.AXES_COOLOFF_TIME = timedelta(microseconds=1)
    response = admin_login(client, "root", PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_lockout_is_per_address_and_username(superuser: User) -> None:
    client = Client()
    fail_five_times(client, "root")

    from_elsewhere = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="198.51.100.9",
    )

    assert from_elsewhere.status_code == 302


def test_a_forged_forwarded_for_header_does_not_give_each_guess_a_new_address(superuser: User) -> None:
    client = Client()
    for n in range(5):
        client.post(
            "/admin/login/",
            {"username": "root", "password": "wrong password"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    assert admin_login(client, "root", PASSWORD).status_code == 429


def test_wrong_passwords_below_the_limit_do_not_lock_and_a_success_clears_them(superuser: User) -> None:
    client = Client()
    for _ in range(4):
        assert admin_login(client, "root", "wrong password").status_code == 200
    assert admin_login(client, "root", PASSWORD).status_code == 302

    again = Client()
    for _ in range(4):
        assert admin_login(again, "root", "wrong password").status_code == 200
    assert admin_login(again, "root", PASSWORD).status_code == 302
