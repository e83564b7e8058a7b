"""Query budgets: what every page the portal serves to a GET costs in database queries today.

A page that starts costing more fails here; its author either finds the extra query (most often an N+1
in a template) or raises the budget on purpose, in the same change. A new GET page fails
`test_every_page_that_answers_a_get_has_a_budget` until it is given one.

Pages are addressed by URL, not by view, so moving a view between apps changes nothing here. NovaCron
is answered by `responses`; the signed-in admin holds every scope, so no page stops at a grant link.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from partners.models import Quota
from tests.factories import make_cluster, make_job, make_migration, make_vms, record_sync
from tests.fakes import API, ROOT, T0, vm_payload
from tests.urlconf import routes
from webhooks.models import Notification, WebhookEvent, WebhookRejection

pytestmark = pytest.mark.django_db

PARTNER_API = f"{ROOT}/partners/partner-acme"
# NovaCron sends these on every answer, and the portal writes them onto the partner (one UPDATE a page).
RATE_LIMIT = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "990", "X-RateLimit-Reset": "1768471260"}
ALL_SCOPES = "openid profile email vm:read vm:write migration:execute partner:admin"

# A signed-in page in the layout pays about 7 before its own work: session, user, partner, the token's
# scopes, the live stream's resume point and the notifications banner (two). A page that calls NovaCron
# reads the token again, fresh, to build its client, and records the rate-limit headers (one UPDATE).

# Pages of the signed-in partner admin: path -> queries. `{event}` is a received webhook event's pk.
PAGES: dict[str, int] = {
    "/": 13,
    "/vms/": 12,  # the fleet stamp: the status counts kept since the last write (vms/fleet_version.py)
    "/vms/new/": 12,  # the networks in use per region, for the network picker
    # Streamed: the rows are read as the body is sent (keyset chunks), after the view has answered.
    "/vms/export.csv": 3,
    # Refreshes the VM from NovaCron and writes the cache row (upsert in a savepoint) before rendering,
    # and folds the state it saw into the VM's intervals (vms.intervals: one read when nothing changed).
    "/vms/vm-00001/": 18,
    # A cache miss: the series are fetched and stored in the database cache (count, then write).
    "/vms/vm-00001/metrics.json": 12,
    "/vms/vm-00001/delete/": 8,
    # The migration_concurrent gauge: when the synced figure is above the cache's own count, the
    # migrations it counted that finished since are counted too (vms.migration_selectors).
    "/vms/vm-00001/migrate/": 14,
    "/migrations/": 10,
    "/migrations/mig-00001/": 8,
    # Outside the layout: the token's scopes are read here, for the panel's Cancel control.
    "/migrations/mig-00001/panel/": 5,
    "/webhooks/notifications/": 9,
    "/partner/integrations/": 9,
    "/partner/integrations/new/": 7,
    "/partner/integrations/int-00001/edit/": 9,
    "/partner/integrations/int-00001/delete/": 9,
    "/partner/webhooks/": 9,
    "/partner/webhooks/new/": 9,
    "/partner/webhooks/whs-00001/delete/": 9,
    "/partner/webhooks/whs-00001/rotate/": 9,
    "/partner/webhooks/whs-00001/deliveries/": 9,
    "/partner/webhooks/received/": 9,
    "/partner/webhooks/received/{event}/payload/": 8,
    "/accounts/": 7,
    "/jobs/": 8,
    "/jobs/new/?action=stop&selection=filter&status=running": 11,
    "/jobs/job-00001/": 12,
    # The planner: clusters, the selection, active migrations, the quota, the finished migrations and
    # their VMs' sizes.
    "/jobs/plan/?status=running&target_cluster=cl-aws-use1-b": 14,
    "/jobs/job-00001/progress/": 7,
    # Evacuate a cluster: the clusters and the partner's VMs per cluster; then one cluster's plan (the
    # cluster, its VMs, the planner's facts as for /jobs/plan/, the inactive clusters, the budget).
    "/jobs/evacuate/": 9,
    "/jobs/evacuate/cl-aws-use1-a/": 16,  # migration_concurrent less the migrations finished since its sync
    # The audit log: the partner's people for the filter, one keyset page of entries.
    "/audit/": 9,
    "/audit/export.csv": 9,
    "/accounts/disconnect/": 7,  # the question before Disconnect
    # Rollups only (usage/): breakdowns offered, the month by value, the last month, the chart's days,
    # the daily totals of both months, creations, the quota and freshness (+1 past 8 values: "other").
    "/usage/?month=2026-11&by=tag:cost-center": 17,
    # The rows are read while the CSV streams, after the view returns.
    "/usage/export.csv": 4,
    # The admin already holds the scope, so the step-up sends them straight back.
    "/accounts/grant/?scope=vm:write&next=/vms/": 3,
}

# The same admin's htmx requests (`HX-Request: true`): the fragments pages swap in.
HTMX_FRAGMENTS: dict[str, int] = {
    "/vms/?status=running": 8,
    "/vms/vm-00001/migrate/": 10,
    "/migrations/": 5,
    "/partner/webhooks/whs-00001/deliveries/": 6,
    "/partner/webhooks/received/?rows=1": 5,
    "/partner/webhooks/received/{event}/payload/": 4,
}

# Pages answered to a visitor who is not signed in.
SIGNED_OUT_PAGES: dict[str, int] = {
    "/accounts/login/": 0,
    # With no sign-in under way it still saves a new session (Authlib clears its state keys), and
    # records the refused sign-in in the audit log (one INSERT).
    "/accounts/callback/": 5,
    "/healthz": 1,
    "/healthz/live": 0,
    "/healthz/ready": 1,
    # The database check, sync freshness (2), and beat's and the worker's heartbeats from the cache (2).
    "/healthz/status": 5,
}

# Pages whose rows must not each cost a query: measured with 5 rows of everything, then 50.
LIST_PAGES = [
    ("/", {}),
    ("/vms/?per_page=100", {}),
    ("/vms/?per_page=100", {"HX-Request": "true"}),
    ("/migrations/", {}),
    ("/migrations/", {"HX-Request": "true"}),
    ("/webhooks/notifications/?show=all", {}),
    ("/partner/webhooks/received/", {}),
    ("/partner/webhooks/received/?rows=1", {"HX-Request": "true"}),
    ("/partner/integrations/", {}),
    ("/partner/webhooks/", {}),
    ("/partner/webhooks/whs-00001/deliveries/", {}),
]

# Pages whose normal answer is not a 200.
STATUS = {"/accounts/grant/?scope=vm:write&next=/vms/": 302, "/accounts/callback/": 400}

# Routes left out of the budgets, each for its reason.
UNBUDGETED = {
    # An endless SSE stream under ASGI (the test client is WSGI and gets a 503); its hold on database
    # connections is measured by tests/test_database_connections.py instead.
    "live/stream/",
}


# --- the partner's world: cached rows, and NovaCron's answers for as many rows ---------------------


def _listing(items: list[dict[str, Any]]) -> str:
    return json.dumps({"data": items, "page": 1, "limit": 50, "total": len(items), "has_more": False})


def integration_json(n: int) -> dict[str, Any]:
    return {
        "integration_id": f"int-{n:05d}",
        "partner_id": "partner-acme",
        "name": f"Backup {n}",
        "type": "api",
        "status": "active",
        "config": {"retention_days": 30},
        "endpoints": [
            {
                "name": "hook",
                "url": f"https://backup.acme.example/{n}",
                "method": "POST",
                "auth_type": "bearer",
                "timeout_seconds": 30,
            }
        ],
        "created_at": "2026-01-15T10:30:00Z",
        "updated_at": "2026-01-15T10:30:00Z",
    }


def subscription_json(n: int) -> dict[str, Any]:
    return {
        "subscription_id": f"whs-{n:05d}",
        "partner_id": "partner-acme",
        "url": f"https://hooks.acme.example/{n}",
        "events": ["vm.created", "migration.completed"],
        "status": "active",
        "created_at": "2026-01-15T10:30:00Z",
        "updated_at": "2026-01-15T10:30:00Z",
    }


def delivery_json(n: int) -> dict[str, Any]:
    return {
        "delivery_id": f"dlv-{n:05d}",
        "subscription_id": "whs-00001",
        "event_id": f"evt_test_{n}",
        "event_type": "vm.created",
        "status": "succeeded",
        "attempts_count": 1,
        "next_attempt_at": None,
        "created_at": "2026-01-15T10:30:00Z",
        "attempts": [
            {
                "attempt": 1,
                "at": "2026-01-15T10:30:00Z",
                "response_status": 200,
                "latency_ms": 42.0,
                "response_excerpt": "ok",
                "error": None,
            }
        ],
    }


def metrics_json() -> dict[str, Any]:
    points = [{"timestamp": "2026-01-15T10:00:00Z", "value": 10.0}]
    return {
        "resource": "vm",
        "resource_id": "vm-00001",
        "interval": "1m",
        "aggregate": "avg",
        "start": "2026-01-15T10:00:00Z",
        "end": "2026-01-15T11:00:00Z",
        "series": [
            {"metric": metric, "unit": "percent", "points": points}
            for metric in ("cpu_usage", "memory_usage", "disk_io", "network_in", "network_out")
        ],
    }


@dataclass
class Portal:
    partner: Any
    owner: Any
    admin: Client
    rows: int = 0
    event: int = 0

    def grow(self, rows: int) -> None:
        """Cached rows of every kind, numbered on from the ones already there; NovaCron lists as many."""
        now = timezone.now()
        start, self.rows = self.rows + 1, rows
        make_vms(self.partner, rows - start + 1, start=start)
        for n in range(start, rows + 1):
            # Odd ones are still running (the active list), even ones finished (the history).
            finished = (
                {} if n % 2 else {"status": "completed", "phase": "completed", "progress_percentage": 100}
            )
            make_migration(self.partner, f"mig-{n:05d}", f"vm-{n:05d}", vm_name=f"bulk-{n:05d}", **finished)
            Notification.objects.create(
                partner=self.partner,
                kind="alert.critical",
                source_event_id=f"evt_{n}",
                title=f"Critical alert on vm-{n:05d}",
                message="CPU above 95%",
                created_at=now,
            )
            payload = {
                "event_id": f"evt_{n}",
                "event_type": "alert.critical",
                "timestamp": "2026-01-15T10:30:00Z",
                "partner_id": "partner-acme",
                "data": {},
            }
            event = WebhookEvent.objects.create(
                partner=self.partner,
                event_id=f"evt_{n}",
                event_type="alert.critical",
                payload=payload,
                received_at=now,
                processed_at=now + timedelta(milliseconds=12.5),
                status=WebhookEvent.Status.PROCESSED,
            )
            self.event = self.event or event.pk
            # One count per minute, as the receiver keeps them.
            WebhookRejection.objects.create(
                partner=self.partner,
                minute=now.replace(second=0, microsecond=0) - timedelta(minutes=n),
                last_at=now,
                count=n,
                last_addresses=["127.0.0.9"],
                reason=WebhookRejection.Reason.BAD_SIGNATURE,
            )

    def answer(self, mock: responses.RequestsMock) -> None:
        """NovaCron's Partner API as these pages call it, listing `self.rows` of each thing."""

        def listing(
            make: Callable[[int], dict[str, Any]],
        ) -> Callable[[Any], tuple[int, dict[str, str], str]]:
            return lambda request: (200, RATE_LIMIT, _listing([make(n) for n in range(1, self.rows + 1)]))

        fresh_vm = vm_payload(1, name="bulk-00001", updated_at="2026-06-01T00:00:00Z")
        mock.get(f"{ROOT}/vms/vm-00001", json=fresh_vm, headers=RATE_LIMIT)
        mock.get(f"{ROOT}/metrics", json=metrics_json(), headers=RATE_LIMIT)
        mock.post(
            f"{PARTNER_API}/quotas/check",
            headers=RATE_LIMIT,
            json={"allowed": True, "quota": "vm_create_per_day", "limit": 200, "used": 12, "remaining": 188},
        )
        mock.add_callback(responses.GET, f"{PARTNER_API}/integrations", callback=listing(integration_json))
        mock.get(f"{PARTNER_API}/integrations/int-00001", json=integration_json(1), headers=RATE_LIMIT)
        mock.add_callback(responses.GET, f"{PARTNER_API}/webhooks", callback=listing(subscription_json))
        mock.add_callback(
            responses.GET, f"{PARTNER_API}/webhooks/whs-00001/deliveries", callback=listing(delivery_json)
        )
        mock.get(f"{API}/api/v1/ping", json={"status": "ok"})


@pytest.fixture
def portal(
    partner: Any, owner: Any, grant: Callable[..., Any], client_of: Callable[[Any], Client], settings: Any
) -> Iterator[Portal]:
    settings.NOVACRON_API_URL = API
    settings.WEBHOOK_RECEIVER_URL = "http://testserver/webhooks/novacron/{partner_id}/"
    cache.clear()  # the metrics cache and the sync locks live in the database cache: start empty
    grant(owner, ALL_SCOPES)
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_cluster(partner, "cl-aws-use1-b", "aws", "us-east-1")
    for name, limit, used in (
        ("api_calls_per_minute", 1000, 100),
        ("vm_create_per_day", 200, 170),
        ("migration_concurrent", 50, 5),
    ):
        Quota.objects.create(
            partner=partner,
            name=name,
            limit=limit,
            used=used,
            remaining=limit - used,
            reset_at=T0,
            synced_at=T0,
        )
    record_sync(partner, finished_at=timezone.now())
    world = Portal(partner=partner, owner=owner, admin=client_of(owner))
    world.grow(5)
    make_job(partner, "job-00001", ["vm-00001", "vm-00002"])  # a bulk job (jobs app) of two VMs
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        world.answer(mock)
        yield world


def _cost(client: Client, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """Queries the page took, and how long it is (so a longer list is seen to have arrived)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code)
    return len(queries), len(response.content)


# --- the budgets -------------------------------------------------------------------------------------


BUDGETS = [
    *[pytest.param("admin", path, {}, budget, id=path) for path, budget in PAGES.items()],
    *[
        pytest.param("admin", path, {"HX-Request": "true"}, budget, id=f"htmx {path}")
        for path, budget in HTMX_FRAGMENTS.items()
    ],
    *[
        pytest.param("visitor", path, {}, budget, id=f"signed out {path}")
        for path, budget in SIGNED_OUT_PAGES.items()
    ],
]


@pytest.mark.parametrize(("who", "path", "headers", "budget"), BUDGETS)
def test_each_page_stays_within_its_query_budget(
    portal: Portal,
    django_assert_max_num_queries: Any,
    who: str,
    path: str,
    headers: dict[str, str],
    budget: int,
) -> None:
    client = portal.admin if who == "admin" else Client()
    url = path.format(event=portal.event)

    with django_assert_max_num_queries(budget):
        response = client.get(url, headers=headers)

    assert response.status_code == STATUS.get(path, 200)


def budgeted_routes() -> set[str]:
    """The routes of every page given a budget here (tests/security counts them as GET pages)."""
    return {
        resolve(path.format(event=1).split("?")[0]).route
        for table in (PAGES, HTMX_FRAGMENTS, SIGNED_OUT_PAGES)
        for path in table
    }


def test_every_page_that_answers_a_get_has_a_budget(portal: Portal) -> None:
    budgeted = budgeted_routes()
    # A route without a budget must refuse GET (405) even to the admin holding every scope.
    client = Client(raise_request_exception=False)
    client.force_login(portal.owner)
    missing = [
        route.route
        for route in routes()
        if route.route not in budgeted | UNBUDGETED and client.get(route.url()).status_code != 405
    ]

    assert missing == [], f"GET pages without a query budget: {missing}"


@pytest.mark.parametrize(
    ("path", "headers"),
    [pytest.param(path, headers, id=" ".join([*headers, path])) for path, headers in LIST_PAGES],
)
def test_a_list_of_fifty_rows_costs_as_many_queries_as_a_list_of_five(
    portal: Portal, path: str, headers: dict[str, str]
) -> None:
    queries_for_five, length_for_five = _cost(portal.admin, path, headers)
    portal.grow(50)
    queries_for_fifty, length_for_fifty = _cost(portal.admin, path, headers)

    assert length_for_fifty > length_for_five
    assert queries_for_fifty == queries_for_five
