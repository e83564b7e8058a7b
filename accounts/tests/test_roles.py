from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import RequestFactory

from accounts.roles import can, role_required


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", {"vm:read", "vm:write", "migration:execute", "partner:admin"}),
        ("operator", {"vm:read", "vm:write", "migration:execute"}),
        ("viewer", {"vm:read"}),
    ],
)
def test_each_role_may_do_exactly_what_the_table_says(
    request: pytest.FixtureRequest, role: str, allowed: set[str]
) -> None:
    user = request.getfixturevalue({"admin": "owner"}.get(role, role))
    actions = {"vm:read", "vm:write", "migration:execute", "partner:admin"}

    assert {action for action in actions if can(user, action)} == allowed


def test_nobody_without_a_partner_may_do_anything(owner: Any) -> None:
    owner.partner = None

    assert not can(owner, "vm:read")
    assert not can(AnonymousUser(), "vm:read")


def test_an_unknown_action_is_a_programming_error(owner: Any) -> None:
    with pytest.raises(ValueError, match="unknown action"):
        can(owner, "vm:destroy")


def _view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done")


def test_the_decorator_lets_an_allowed_role_through(operator: Any, rf: RequestFactory) -> None:
    request = rf.post("/")
    request.user = operator

    assert role_required("vm:write")(_view)(request).content == b"done"


def test_the_decorator_refuses_with_a_403_that_says_why(viewer: Any, rf: RequestFactory) -> None:
    request = rf.post("/")
    request.user = viewer

    response = role_required("migration:execute")(_view)(request)

    assert response.status_code == 403
    assert b"Your role (viewer) does not allow you to start or cancel migrations" in response.content
    assert b"admin or operator" in response.content


def test_the_decorator_sends_signed_out_people_to_sign_in(rf: RequestFactory, db: None) -> None:
    request = rf.get("/vms/")
    request.user = AnonymousUser()

    response = role_required("vm:read")(_view)(request)

    assert response.status_code == 302
    assert "next=/vms/" in response["Location"]


def test_the_template_filter_offers_only_what_the_role_allows(owner: Any, viewer: Any) -> None:
    template = Template('{% load roles %}{% if user|can:"vm:write" %}create{% else %}read-only{% endif %}')

    assert template.render(Context({"user": owner})) == "create"
    assert template.render(Context({"user": viewer})) == "read-only"


def test_the_nav_shows_integrations_and_webhooks_to_admins_only(
    owner: Any, operator: Any, client_of: Callable[[Any], Any]
) -> None:
    from django.template.loader import render_to_string

    assert "/partner/integrations/" in render_to_string("_nav.html", {"user": owner})
    assert "/partner/webhooks/" in render_to_string("_nav.html", {"user": owner})
    assert "/partner/integrations/" not in render_to_string("_nav.html", {"user": operator})
