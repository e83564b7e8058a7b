"""Every route of the URLconf, tried as an attacker would: a forged POST, another partner's id, the
wrong role. The routes come from `tests/urlconf.py`, so a new view is covered without anyone
remembering to: it fails `test_every_route_is_classified` until it is put in one of the tables.

- GET pages: the routes of `tests/test_query_budgets.py` (every page that answers a GET has a budget);
- POST actions: `ACTIONS`, with the roles that may use each (the accounts.roles / vms.actions rules);
- `ANSWERS_POST_AS_GET`: pages without a method guard, which render themselves for a POST too;
- `EXEMPT`: routes none of the checks here apply to, each with its reason.

NovaCron is answered by `responses` (the world of the query budgets), another partner's objects that
NovaCron holds (integrations, subscriptions, deliveries) by its 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import responses
from django.conf import settings
from django.test import Client

from tests.factories import make_cluster, make_job, make_migration, make_vm
from tests.fakes import ROOT
from tests.test_query_budgets import (
    ALL_SCOPES,
    PARTNER_API,
    Portal,
    budgeted_routes,
    subscription_json,
)
from tests.urlconf import Route, routes
from webhooks.models import Notification, WebhookEvent

pytestmark = pytest.mark.django_db

ROLES = ("viewer", "operator", "admin")
EVERYONE = frozenset(ROLES)
OPERATORS = frozenset({"operator", "admin"})  # vm:write and migration:execute (accounts.roles)
ADMINS = frozenset({"admin"})  # partner:admin

# The one view that takes a POST without a CSRF token, and why that is safe.
CSRF_EXEMPT = {
    "webhooks/novacron/<str:partner_id>/": (
        "NovaCron's webhook receiver: no session or cookie is involved; each delivery is authenticated "
        "by the HMAC signature of its raw body (webhooks/views.py, tests in webhooks/tests)"
    ),
}

# Routes the checks here do not apply to, each for its reason.
EXEMPT = {
    **CSRF_EXEMPT,
    "live/stream/": (
        "the SSE stream (GET only, 405 to a POST): under the WSGI test client it answers 503; who "
        "receives what is tests/security/test_live_audience.py"
    ),
}

# Every route that acts on a POST, and the roles that may (everyone else is refused with a 403).
ACTIONS: dict[str, frozenset[str]] = {
    "accounts/login/": EVERYONE,  # starts the sign-in at NovaCron
    "accounts/logout/": EVERYONE,
    "accounts/disconnect/": EVERYONE,  # revokes the person's own NovaCron token
    "accounts/time-zone/": EVERYONE,  # the person's own time zone
    "accounts/time-zone/detect/": EVERYONE,  # the browser's zone, stored only while none is set
    "webhooks/notifications/<int:pk>/acknowledge/": EVERYONE,
    "vms/new/": OPERATORS,
    "vms/<str:vm_id>/start/": OPERATORS,
    "vms/<str:vm_id>/stop/": OPERATORS,
    "vms/<str:vm_id>/delete/": OPERATORS,
    "vms/<str:vm_id>/migrate/": OPERATORS,
    "migrations/<str:migration_id>/cancel/": OPERATORS,
    "partner/integrations/new/": ADMINS,
    "partner/integrations/<str:integration_id>/edit/": ADMINS,
    "partner/integrations/<str:integration_id>/delete/": ADMINS,
    "partner/webhooks/new/": ADMINS,
    "partner/webhooks/<str:subscription_id>/delete/": ADMINS,
    "partner/webhooks/<str:subscription_id>/rotate/": ADMINS,
    "partner/webhooks/<str:subscription_id>/test/": ADMINS,
    "partner/webhooks/<str:subscription_id>/deliveries/<str:delivery_id>/redeliver/": ADMINS,
    "partner/webhooks/received/<int:pk>/reprocess/": ADMINS,
    # Bulk jobs: the single-VM actions' roles (jobs.permissions).
    "jobs/new/": OPERATORS,
    "jobs/<str:job_id>/cancel/": OPERATORS,
    "jobs/<str:job_id>/retry/": OPERATORS,
    # Evacuating a cluster: bulk migrate's roles.
    "jobs/evacuate/<str:cluster_id>/": OPERATORS,
}

# GET pages with no method guard, which would render themselves for a POST: none (every page answers
# 405 to a method it does not take). One listed here must be justified, and one acting on a POST must
# move to ACTIONS.
ANSWERS_POST_AS_GET: set[str] = set()

NOVACRON_NOT_FOUND = {
    "error": {"code": "not_found", "message": "Not found", "details": {}},
    "request_id": "r",
}


def _checked_routes() -> list[Route]:
    return [route for route in routes() if route.route not in EXEMPT]


def _people(portal: Portal, grant: Callable[..., Any]) -> dict[str, Any]:
    """One person of each role of the portal's partner, each holding every scope."""
    from accounts.models import User

    people = {"admin": portal.owner}
    for role in ("viewer", "operator"):
        people[role] = User.objects.create_user(
            username=f"{role}-sec@acme.example",
            email=f"{role}-sec@acme.example",
            partner=portal.partner,
            role=role,
            novacron_sub=f"sub-{role}-sec",
        )
    for person in people.values():
        grant(person, ALL_SCOPES)
    return people


def _csrf_client(user: Any) -> Client:
    """A browser's client: CSRF enforced, holding the token a page of the portal gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/accounts/")
    return client


def _post(client: Client, url: str) -> Any:
    return client.post(url, headers={"X-CSRFToken": client.cookies[settings.CSRF_COOKIE_NAME].value})


def _own_ids(portal: Portal) -> dict[str, str | int]:
    """Ids of the portal partner's own objects (cached rows, and ones NovaCron answers for)."""
    return {
        "vm_id": "vm-00002",  # not migrating: every action of it is open to those who may
        "migration_id": "mig-00001",
        "integration_id": "int-00001",
        "subscription_id": "whs-00001",
        "delivery_id": "dlv-00001",
        "job_id": "job-00001",
        "cluster_id": "cl-aws-use1-a",
        "partner_id": portal.partner.partner_id,
    }


def _pk_of(route: Route, *, partner: Any) -> int:
    """The `pk` a route names: a notification's, or a received webhook event's."""
    model = Notification if route.route.startswith("webhooks/notifications/") else WebhookEvent
    return int(model.objects.filter(partner=partner).values_list("pk", flat=True).first())


def _url(route: Route, ids: dict[str, str | int], *, partner: Any) -> str:
    values = dict(ids)
    if "pk" in route.parameters:
        values["pk"] = _pk_of(route, partner=partner)
    return route.url(**values)


def _accepts_post(route: Route, portal: Portal, grant: Callable[..., Any]) -> bool:
    """Whether the route does anything but refuse a POST (405), asked as the admin holding every scope."""
    grant(portal.owner, ALL_SCOPES)  # a POST to disconnect revokes it
    client = Client()
    client.force_login(portal.owner)
    return client.post(_url(route, _own_ids(portal), partner=portal.partner)).status_code != 405


# --- the classification ----------------------------------------------------------------------------


def test_every_route_is_classified(portal: Portal, grant: Callable[..., Any]) -> None:
    get_pages = budgeted_routes()
    taking_posts = {route.route for route in _checked_routes() if _accepts_post(route, portal, grant)}

    unclassified = [
        route.route
        for route in routes()
        if route.route not in get_pages | set(ACTIONS) | ANSWERS_POST_AS_GET | set(EXEMPT)
    ]
    assert unclassified == [], f"routes no table here or in the query budgets names: {unclassified}"
    assert taking_posts - ANSWERS_POST_AS_GET == set(ACTIONS), "a route acts on a POST: declare its roles"
    assert taking_posts >= ANSWERS_POST_AS_GET, "a page listed as answering POST refuses it now: unlist it"
    assert set(EXEMPT) <= {route.route for route in routes()}, "an exemption names a route that is gone"


def test_the_only_csrf_exempt_view_is_the_declared_one() -> None:
    assert {route.route for route in routes() if route.csrf_exempt} == set(CSRF_EXEMPT)


# --- CSRF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [r.route for r in _checked_routes()])
def test_a_post_without_a_csrf_token_is_refused(portal: Portal, route: str) -> None:
    [target] = [r for r in routes() if r.route == route]
    client = Client(enforce_csrf_checks=True)
    client.force_login(portal.owner)

    response = client.post(_url(target, _own_ids(portal), partner=portal.partner))

    assert response.status_code == 403
    assert b"CSRF" in response.content or response.get("Content-Type", "").startswith("text/html")


# --- tenancy: another partner's id is a 404, whoever asks ------------------------------------------


@pytest.fixture
def globex(other_partner: Any) -> dict[str, str | int]:
    """Objects of the other partner, with ids the portal's partner does not have."""
    from django.utils import timezone

    make_vm(other_partner, 9999)
    make_migration(other_partner, "mig-09999", "vm-09999")
    make_job(other_partner, "job-09999", ["vm-09999"])
    make_cluster(other_partner, "cl-globex-09999", "aws", "us-east-1")
    now = timezone.now()
    Notification.objects.create(
        partner=other_partner, kind="alert.critical", source_event_id="evt_g", title="t", created_at=now
    )
    WebhookEvent.objects.create(
        partner=other_partner,
        event_id="evt_g",
        event_type="alert.critical",
        payload={},
        received_at=now,
        status=WebhookEvent.Status.PROCESSED,
    )
    return {
        "vm_id": "vm-09999",
        "migration_id": "mig-09999",
        "integration_id": "int-09999",
        "subscription_id": "whs-09999",
        "delivery_id": "dlv-09999",
        "job_id": "job-09999",
        "cluster_id": "cl-globex-09999",
        "partner_id": other_partner.partner_id,
    }


def _novacron_knows_none_of_globex(mock: responses.RequestsMock) -> None:
    """NovaCron answers the portal partner's token with a 404 for anything of another partner."""
    pattern = re.compile(rf"{re.escape(ROOT)}/.*-09999.*")
    listing = {"data": [subscription_json(1)], "page": 1, "limit": 50, "total": 1, "has_more": False}
    mock.get(f"{PARTNER_API}/webhooks", json=listing)  # the portal finds a subscription in this list
    for method in (responses.GET, responses.POST, responses.PATCH, responses.DELETE):
        mock.add(method, pattern, json=NOVACRON_NOT_FOUND, status=404)


@pytest.mark.parametrize("role", ROLES)
def test_another_partners_id_is_a_404_for_get_and_post_as_each_role(
    portal: Portal, grant: Callable[..., Any], globex: dict[str, str | int], other_partner: Any, role: str
) -> None:
    person = _people(portal, grant)[role]
    client = _csrf_client(person)
    leaks = []
    # Inside the world's mock of NovaCron, one that knows none of the other partner's objects.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _novacron_knows_none_of_globex(mock)
        for route in _checked_routes():
            if not route.parameters:
                continue
            theirs = _url(route, globex, partner=other_partner)
            for method in ("GET", "POST"):
                answer = (client.get(theirs) if method == "GET" else _post(client, theirs)).status_code
                if answer in (404, 405):
                    continue
                # Refused before any lookup (the role may not use it): the same answer as for an id of
                # its own partner, so the refusal says nothing about the other partner's object.
                refused_role = method == "POST" and role not in ACTIONS.get(route.route, EVERYONE)
                refused_page = role != "admin" and route.route.startswith("partner/")  # partner_admin_page
                if answer == 403 and (refused_role or refused_page):
                    continue
                leaks.append((method, theirs, answer))
    assert leaks == [], f"answers other than 404 for another partner's id, as {role}: {leaks}"


# --- the role matrix of every action ---------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_action_is_refused_or_allowed_per_the_declared_roles(
    portal: Portal, grant: Callable[..., Any], role: str
) -> None:
    person = _people(portal, grant)[role]
    wrong = []
    for route_name, allowed in ACTIONS.items():
        [route] = [r for r in routes() if r.route == route_name]
        grant(person, ALL_SCOPES)  # a disconnect revokes it
        client = _csrf_client(person)
        url = _url(route, _own_ids(portal), partner=portal.partner)
        answer = client.post(
            url, headers={"X-CSRFToken": client.cookies[settings.CSRF_COOKIE_NAME].value}, follow=True
        )
        first = answer.redirect_chain[0][1] if answer.redirect_chain else answer.status_code
        # Refused: a 403, or (VM lifecycle, a new VM) the page again saying the role does not allow it.
        refused = first == 403 or b"Your role (" in answer.content
        if refused == (role in allowed) or first == 405:
            wrong.append((route_name, first))
    assert wrong == [], f"as {role}, these actions did not answer as ACTIONS declares: {wrong}"
