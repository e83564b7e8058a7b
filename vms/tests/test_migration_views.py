from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from live.audiences import controls_audience
from live.models import EVERYONE, Event
from partners.models import Quota
from tests.factories import form_key
from tests.webhook_payloads import at, migration_data
from vms.models import VM, Cluster, Migration

pytestmark = pytest.mark.django_db

API = settings.NOVACRON_API_URL.rstrip("/") + "/api/v1"


@pytest.fixture
def mocked_api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def vm(partner: Any) -> VM:
    now = timezone.now()
    for cluster_id, region in [
        ("cl-aws-use1-a", "us-east-1"),
        ("cl-aws-usw2-a", "us-west-2"),
        ("cl-gcp-euw1-a", "europe-west1"),
    ]:
        Cluster.objects.create(
            partner=partner,
            cluster_id=cluster_id,
            name=cluster_id[3:],
            cloud_provider=cluster_id[3:6],
            region=region,
            synced_at=now,
        )
    return VM.objects.create(
        partner=partner,
        vm_id="vm-0001",
        name="web-0001",
        status="running",
        cluster="cl-aws-use1-a",
        created_at=now,
        updated_at=parse_datetime(at(-100)),
        synced_at=now,
    )


def _migration(partner: Any, migration_id: str = "mig-0001", **fields: Any) -> Migration:
    now = timezone.now()
    values = {
        "partner": partner,
        "migration_id": migration_id,
        "source_vm_id": "vm-0001",
        "vm_name": "web-0001",
        "source_cluster": "cl-aws-use1-a",
        "target_cluster": "cl-aws-usw2-a",
        "migration_type": "live",
        "status": "in_progress",
        "phase": "data_sync",
        "progress_percentage": 30,
        "bytes_total": 8 * 1024**3,
        "bytes_transferred": int(8 * 1024**3 * 0.3),
        "created_at": now,
        "updated_at": parse_datetime(at(0)),
        "started_at": now - timedelta(seconds=30),
        "synced_at": now,
    }
    values.update(fields)
    return Migration.objects.create(**values)


# --- starting a migration -------------------------------------------------------------------------


def test_the_start_form_offers_every_synced_cluster_but_the_vms_own(client_of, operator, grant, vm):
    grant(operator, "openid vm:read migration:execute")
    page = client_of(operator).get("/vms/vm-0001/migrate/").content.decode()
    assert 'value="cl-aws-usw2-a"' in page
    assert 'value="cl-gcp-euw1-a"' in page
    assert 'value="cl-aws-use1-a"' not in page
    assert "<fieldset disabled" not in page


def test_it_shows_the_concurrent_migration_quota(client_of, operator, grant, vm, partner):
    grant(operator, "openid vm:read migration:execute")
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=5, used=2, remaining=3, synced_at=timezone.now()
    )
    page = client_of(operator).get("/vms/vm-0001/migrate/").content.decode()
    assert "2 of 5" in page


def test_an_exhausted_quota_disables_the_form_and_says_why(
    client_of, operator, grant, vm, partner, mocked_api
):
    grant(operator, "openid vm:read migration:execute")
    Quota.objects.create(
        partner=partner, name="migration_concurrent", limit=2, used=2, remaining=0, synced_at=timezone.now()
    )
    client = client_of(operator)
    page = client.get("/vms/vm-0001/migrate/").content.decode()
    assert "<fieldset disabled" in page
    assert "All 2 concurrent migrations" in page
    response = client.post(
        "/vms/vm-0001/migrate/", {**form_key(), "target_cluster": "cl-aws-usw2-a", "migration_type": "live"}
    )
    assert response.status_code == 403
    assert len(mocked_api.calls) == 0


def test_a_viewer_is_refused_with_the_reason(client_of, viewer, grant, vm, mocked_api):
    grant(viewer, "openid vm:read migration:execute")
    client = client_of(viewer)
    page = client.get("/vms/vm-0001/migrate/").content.decode()
    assert "<fieldset disabled" in page
    assert "Your role (viewer)" in page
    response = client.post(
        "/vms/vm-0001/migrate/", {**form_key(), "target_cluster": "cl-aws-usw2-a", "migration_type": "live"}
    )
    assert response.status_code == 403
    assert len(mocked_api.calls) == 0
    assert not Migration.objects.exists()


def test_without_the_migration_scope_it_offers_a_grant_link(client_of, operator, grant, vm, mocked_api):
    grant(operator, "openid vm:read")
    client = client_of(operator)
    page = client.get("/vms/vm-0001/migrate/").content.decode()
    assert 'data-grant-scope="migration:execute"' in page
    assert "<fieldset disabled" in page
    response = client.post(
        "/vms/vm-0001/migrate/", {**form_key(), "target_cluster": "cl-aws-usw2-a", "migration_type": "live"}
    )
    assert response.status_code == 403
    assert len(mocked_api.calls) == 0


def test_an_operator_starts_a_migration_and_the_cache_holds_novacrons_answer(
    client_of, operator, grant, vm, partner, mocked_api, django_capture_on_commit_callbacks
):
    grant(operator, "openid vm:read migration:execute")
    answer = migration_data("mig-0042", status="pending", phase="pre_check", progress=0, updated=1)
    mocked_api.add(responses.POST, f"{API}/migrations", json=answer, status=201)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(operator).post(
            "/vms/vm-0001/migrate/",
            {
                **form_key(),
                "target_cluster": "cl-aws-usw2-a",
                "migration_type": "live",
                "downtime_window_minutes": "30",
                "verify_after_migration": "on",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == "/migrations/mig-0042/"
    sent = json.loads(mocked_api.calls[0].request.body)
    assert sent["source_vm_id"] == "vm-0001"
    assert sent["target_cluster"] == "cl-aws-usw2-a"
    assert sent["migration_type"] == "live"
    assert sent["options"] == {"verify_after_migration": True, "downtime_window_minutes": 30}
    assert mocked_api.calls[0].request.headers["Authorization"] == f"Bearer access-{operator.pk}"
    migration = Migration.objects.get(partner=partner)
    assert migration.migration_id == "mig-0042"
    assert migration.status == "pending"
    assert VM.objects.get().status == "migrating"
    assert Event.objects.filter(partner=partner, topic="migration").exists()
    assert (
        'data-vm-status="migrating"' in Event.objects.get(partner=partner, topic="vm", audience=EVERYONE).html
    )


def test_a_refusal_from_novacron_shows_on_the_form(client_of, operator, grant, vm, mocked_api):
    grant(operator, "openid vm:read migration:execute")
    mocked_api.add(
        responses.POST,
        f"{API}/migrations",
        status=409,
        json={
            "error": {"code": "conflict", "message": "VM is already migrating", "details": {}},
            "request_id": "req_1",
        },
    )
    response = client_of(operator).post(
        "/vms/vm-0001/migrate/", {**form_key(), "target_cluster": "cl-aws-usw2-a", "migration_type": "cold"}
    )
    assert response.status_code == 409
    assert "VM is already migrating" in response.content.decode()
    assert not Migration.objects.exists()


def test_another_partners_vm_cannot_be_migrated(client_of, outsider, grant, vm):
    grant(outsider, "openid vm:read migration:execute")
    assert client_of(outsider).get("/vms/vm-0001/migrate/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, vm):
    response = client.get("/vms/vm-0001/migrate/")
    assert response.status_code == 302
    assert "/accounts/" in response["Location"]


# --- the panel and cancel -----------------------------------------------------------------------------


def test_the_panel_shows_progress_phase_and_figures(client_of, viewer, partner):
    _migration(
        partner,
        phase="memory_precopy",
        metrics={
            "transfer_rate_mbps": 900,
            "dirty_rate_mbps": 880,
            "iteration": 3,
            "source_vm_load": 40,
            "target_vm_load": 10,
        },
        rate_history=[[at(n), 900.0, 880.0] for n in range(5)],
    )
    html = client_of(viewer).get("/migrations/mig-0001/panel/").content.decode()
    assert 'id="migration-mig-0001"' in html
    assert 'aria-valuenow="30"' in html
    assert 'aria-current="step"' in html and "Memory pre-copy" in html
    assert "2.4\xa0GB of 8.0\xa0GB" in html
    assert "900 Mbit/s" in html
    assert "Not converging" in html
    assert "pre-copy iteration 3" in html
    assert "<polyline" in html
    assert "Cancel migration" not in html  # a viewer may not cancel: the control is not drawn at all


def test_a_finished_migration_shows_duration_average_rate_and_error(client_of, viewer, partner):
    now = timezone.now()
    _migration(
        partner,
        status="failed",
        phase="switchover",
        started_at=now - timedelta(seconds=100),
        finished_at=now,
        bytes_transferred=1_000_000_000,
        error="switchover timed out",
    )
    html = client_of(viewer).get("/migrations/mig-0001/panel/").content.decode()
    assert "1m 40s" in html
    assert "80 Mbit/s" in html
    assert "switchover timed out" in html
    assert "Cancel migration" not in html
    assert "data-poll-url" not in html


def test_another_partners_migration_is_a_404_everywhere(client_of, outsider, grant, partner, mocked_api):
    grant(outsider, "openid vm:read migration:execute")
    _migration(partner)
    client = client_of(outsider)
    assert client.get("/migrations/mig-0001/").status_code == 404
    assert client.get("/migrations/mig-0001/panel/").status_code == 404
    assert client.post("/migrations/mig-0001/cancel/", form_key()).status_code == 404
    assert "mig-0001" not in client.get("/migrations/").content.decode()
    assert len(mocked_api.calls) == 0


def test_an_operator_cancels_a_running_migration(client_of, operator, grant, partner, mocked_api):
    grant(operator, "openid vm:read migration:execute")
    _migration(partner)
    mocked_api.add(
        responses.POST,
        f"{API}/migrations/mig-0001/cancel",
        json=migration_data(status="cancelled", phase="data_sync", progress=30, updated=50),
    )
    response = client_of(operator).post("/migrations/mig-0001/cancel/", form_key(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-status="cancelled"' in response.content.decode()
    assert Migration.objects.get().status == "cancelled"


def test_a_viewer_cannot_cancel(client_of, viewer, grant, partner, mocked_api):
    grant(viewer, "openid vm:read migration:execute")
    _migration(partner)
    assert client_of(viewer).post("/migrations/mig-0001/cancel/", form_key()).status_code == 403
    assert len(mocked_api.calls) == 0
    assert Migration.objects.get().status == "in_progress"


@pytest.mark.parametrize(
    ("role", "scopes", "offered"),
    [
        ("viewer", "openid vm:read migration:execute", False),
        ("operator", "openid vm:read", False),
        ("operator", "openid vm:read migration:execute", True),
    ],
)
def test_the_panel_offers_cancel_only_to_people_who_may_cancel(
    client_of, grant, partner, role, scopes, offered, request
):
    user = request.getfixturevalue(role)
    grant(user, scopes)
    _migration(partner)
    client = client_of(user)
    for display in ("", "?display=row"):
        html = client.get(f"/migrations/mig-0001/panel/{display}").content.decode()
        assert ("/migrations/mig-0001/cancel/" in html) == offered, display


@pytest.mark.parametrize(
    ("role", "scopes", "flag"),
    [
        ("viewer", "openid vm:read migration:execute", "0"),
        ("operator", "openid vm:read", "0"),
        ("operator", "openid vm:read migration:execute", "1"),
    ],
)
def test_the_page_says_whether_the_user_may_migrate(client_of, grant, partner, role, scopes, flag, request):
    user = request.getfixturevalue(role)
    grant(user, scopes)
    _migration(partner)
    page = client_of(user).get("/migrations/").content.decode()
    body_tag = page[page.index("<body") : page.index(">", page.index("<body"))]
    assert f'data-can-migrate="{flag}"' in body_tag


def test_after_switchover_cancel_is_not_offered_nor_sent(client_of, operator, grant, partner, mocked_api):
    grant(operator, "openid vm:read migration:execute")
    _migration(partner, phase="switchover")
    client = client_of(operator)
    assert "Cancel migration" not in client.get("/migrations/mig-0001/panel/").content.decode()
    client.post("/migrations/mig-0001/cancel/", form_key())
    assert len(mocked_api.calls) == 0


# --- the migrations page --------------------------------------------------------------------------------


def test_the_migrations_page_shows_active_panels_and_filtered_history(
    client_of, viewer, partner, other_partner
):
    _migration(partner, "mig-active")
    _migration(partner, "mig-done", status="completed", phase="completed", migration_type="live")
    _migration(
        partner,
        "mig-cold-failed",
        status="failed",
        migration_type="cold",
        vm_name="db-0002",
        source_vm_id="vm-0002",
    )
    _migration(other_partner, "mig-globex", status="completed")
    client = client_of(viewer)
    page = client.get("/migrations/").content.decode()
    assert 'id="migration-mig-active"' in page
    assert 'data-migration-id="mig-done"' in page and 'data-migration-id="mig-cold-failed"' in page
    assert "mig-globex" not in page
    filtered = client.get("/migrations/", {"migration_type": "cold"}, HTTP_HX_REQUEST="true").content.decode()
    assert "mig-cold-failed" in filtered and "mig-done" not in filtered
    by_vm = client.get("/migrations/", {"vm": "db-0002"}).content.decode()
    assert 'data-migration-id="mig-cold-failed"' in by_vm and 'data-migration-id="mig-done"' not in by_vm


def test_the_history_is_paginated(client_of, viewer, partner):
    for n in range(25):
        _migration(partner, f"mig-{n:04d}", status="completed")
    client = client_of(viewer)
    first = client.get("/migrations/").content.decode()
    second = client.get("/migrations/", {"page": 2}).content.decode()
    assert first.count("data-migration-id=") == 20
    assert second.count("data-migration-id=") == 5
    assert "Page 2 of 2" in second


def test_a_migration_finishing_while_the_page_is_open_publishes_its_finished_panel(
    client_of, viewer, partner, django_capture_on_commit_callbacks
):
    from vms.cache import store_migration

    _migration(partner, status="in_progress", phase="data_sync")
    page = client_of(viewer).get("/migrations/").content.decode()
    assert 'id="active-migrations"' in page and "migration-finished-hint" not in page  # nothing finished yet

    with django_capture_on_commit_callbacks(execute=True):
        _, changed, _ = store_migration(
            partner=partner,
            migration=migration_data(
                status="failed", phase="switchover", progress=100, updated=90, error="switchover timed out"
            ),
            from_event=True,
        )
    assert changed

    html = Event.objects.filter(partner=partner, topic="migration").last().html
    assert 'id="migration-mig-0001"' in html and 'hx-swap-oob="true"' in html
    assert 'data-status="failed"' in html and ">Failed</span>" in html
    assert "1m 40s" in html  # started 10 s before the epoch, finished 90 s after
    assert "687 Mbit/s" in html  # 8 GiB in 100 s
    assert "switchover timed out" in html
    assert "moves to the history when the page is reloaded" in html
    assert "data-poll-url" not in html and "Cancel migration" not in html and "ETA" not in html


# --- many migrations at once: compact rows ---------------------------------------------------------


def _running(partner: Any, count: int) -> None:
    for n in range(count):
        _migration(
            partner,
            f"mig-{n:04d}",
            source_vm_id=f"vm-{n:04d}",
            vm_name=f"web-{n:04d}",
            metrics={"transfer_rate_mbps": 812.4},
        )


@pytest.mark.parametrize("path", ["/", "/migrations/"])
def test_four_active_migrations_show_as_compact_rows_linking_to_their_panels(
    client_of, operator, grant, partner, path
):
    grant(operator, "openid vm:read migration:execute")
    _running(partner, 4)
    _migration(partner, "mig-late", source_vm_id="vm-late", phase="switchover", progress_percentage=80)
    page = client_of(operator).get(path).content.decode()
    assert 'id="active-migration-rows"' in page and 'id="active-migrations"' not in page
    assert 'class="card mb-3 migration-panel"' not in page
    for n in range(4):
        row = page[page.index(f'id="migration-row-mig-{n:04d}"') :]
        row = row[: row.index("</tr>")]
        assert f'href="/migrations/mig-{n:04d}/"' in row and f"web-{n:04d}" in row
        assert "cl-aws-use1-a → cl-aws-usw2-a" in row and "Data sync" in row
        assert 'role="progressbar"' in row and 'aria-valuenow="30"' in row and 'width="30"' in row
        assert "30%" in row and "812 Mbit/s" in row
        assert f'data-poll-url="/migrations/mig-{n:04d}/panel/?display=row"' in row
        cancel_form = row[row.index("<form") :]
        assert 'name="display" value="row"' in cancel_form
        assert f'hx-target="#migration-row-mig-{n:04d}"' in cancel_form
        assert "style=" not in row  # the CSP allows no inline style
    late = page[page.index('id="migration-row-mig-late"') :]
    late = late[: late.index("</tr>")]
    assert "Switchover" in late and "<form" not in late  # past the point NovaCron accepts a cancel


@pytest.mark.parametrize("path", ["/", "/migrations/"])
def test_three_active_migrations_show_as_full_panels(client_of, viewer, partner, path):
    _running(partner, 3)
    page = client_of(viewer).get(path).content.decode()
    assert 'id="active-migrations"' in page and 'id="active-migration-rows"' not in page
    assert "migration-row-" not in page
    for n in range(3):
        assert f'id="migration-mig-{n:04d}"' in page


def test_the_row_alone_is_what_a_compact_page_polls(client_of, viewer, partner):
    _migration(partner)
    html = client_of(viewer).get("/migrations/mig-0001/panel/", {"display": "row"}).content.decode()
    assert html.strip().startswith('<tr id="migration-row-mig-0001"') and "migration-panel" not in html


def test_cancelling_from_a_row_answers_with_the_row(client_of, operator, grant, partner, mocked_api):
    grant(operator, "openid vm:read migration:execute")
    _migration(partner)
    mocked_api.add(
        responses.POST,
        f"{API}/migrations/mig-0001/cancel",
        json=migration_data(status="cancelled", phase="data_sync", progress=30, updated=50),
    )
    response = client_of(operator).post(
        "/migrations/mig-0001/cancel/", {**form_key(), "display": "row"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="migration-row-mig-0001"' in html and 'data-status="cancelled"' in html
    assert ">Cancelled</span>" in html and "<form" not in html


def test_a_published_migration_event_carries_its_panel_and_its_row(
    partner, django_capture_on_commit_callbacks
):
    from vms.cache import store_migration

    with django_capture_on_commit_callbacks(execute=True):
        store_migration(
            partner=partner,
            migration=migration_data(status="in_progress", phase="data_sync", progress=40),
            from_event=True,
        )
    # Once for those who may cancel it, once for the others: the same panel and row, without Cancel.
    cancel, read_only = (
        Event.objects.get(partner=partner, topic="migration", audience__contains=controls_audience(controls))
        for controls in (["migration:execute"], [])
    )
    assert (
        "/migrations/mig-0001/cancel/" in cancel.html and "/migrations/mig-0001/cancel/" not in read_only.html
    )
    html = cancel.html
    panel, row = html.index('id="migration-mig-0001"'), html.index('id="migration-row-mig-0001"')
    assert panel < html.index("<template>") < row < html.index("</template>")
    assert html.count('hx-swap-oob="true"') == 2
    assert 'data-live-containers="active-migrations vm-migrations-' in html
    assert 'data-live-containers="active-migration-rows"' in html
    assert 'aria-valuenow="40"' in html[row:]
