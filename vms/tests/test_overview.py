from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from partners.models import Quota
from tests.factories import make_migration, make_vm
from tests.fakes import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def quotas(partner):
    for name, limit, used in (
        ("api_calls_per_minute", 1000, 100),
        ("vm_create_per_day", 200, 170),
        ("migration_concurrent", 5, 5),
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


def gauge(body: str, name: str) -> str:
    start = body.index(f'data-quota="{name}"')
    return body[start : body.index("</div>\n      </div>", start)]


def test_the_home_page_is_the_overview(owner, client_of):
    response = client_of(owner).get("/")

    assert response.status_code == 200
    assert response.resolver_match.view_name == "vms:overview"


def test_each_quota_has_a_gauge_that_turns_amber_from_80_and_red_at_100_percent(quotas, owner, client_of):
    body = client_of(owner).get("/").content.decode()

    assert 'data-level="success"' in gauge(body, "api_calls_per_minute")
    assert "used 100 of 1000" in gauge(body, "api_calls_per_minute")
    assert 'data-level="warning"' in gauge(body, "vm_create_per_day")
    assert "used 170 of 200" in gauge(body, "vm_create_per_day")
    assert 'data-level="danger"' in gauge(body, "migration_concurrent")
    assert "used 5 of 5" in gauge(body, "migration_concurrent")


def test_the_rate_budget_comes_from_the_last_rate_limit_headers(partner, owner, client_of):
    partner.rate_limit_limit, partner.rate_limit_remaining = 1000, 150
    partner.rate_limit_reset = timezone.now() + timedelta(seconds=30)
    partner.save()

    body = client_of(owner).get("/").content.decode()

    budget = body[body.index('id="rate-budget"') :]
    assert "150 requests left" in budget and "refills at 1000 per minute" in budget
    assert (
        'data-level="warning"'
        in body[body.index('id="rate-budget"') - 80 : body.index('id="rate-budget"') + 80]
    )


def test_a_burst_above_the_per_minute_limit_does_not_read_as_more_left_than_the_limit(
    partner, owner, client_of
):
    # NovaCron's bucket holds a burst (1500 for gold) above the per-minute limit (1000).
    partner.rate_limit_limit, partner.rate_limit_remaining = 1000, 1499
    partner.save()

    body = client_of(owner).get("/").content.decode()

    budget = body[body.index('id="rate-budget"') :]
    assert "1499 requests left" in budget
    assert "of 1000 per minute" not in budget


def test_vm_counts_by_status_cloud_and_region_link_to_the_filtered_list(partner, owner, client_of):
    make_vm(partner, 1, status="running", cloud_provider="aws", region="us-east-1")
    make_vm(partner, 2, status="running", cloud_provider="gcp", region="europe-west1")
    make_vm(partner, 3, status="stopped", cloud_provider="aws", region="us-east-1")

    body = client_of(owner).get("/").content.decode()

    links = dict(re.findall(r'href="(/vms/\?[^"]+)"[^>]*>.*?</a><span>(\d+)</span>', body))
    assert links["/vms/?status=running"] == "2"
    assert links["/vms/?status=stopped"] == "1"
    assert links["/vms/?cloud_provider=aws"] == "2"
    assert links["/vms/?region=europe-west1"] == "1"


def test_active_migrations_are_shown_and_finished_ones_are_not(partner, owner, client_of):
    make_vm(partner, 1, name="moving")
    make_migration(partner, "mig-active", "vm-00001")
    make_migration(partner, "mig-done", "vm-00001", status="completed", phase="completed")

    body = client_of(owner).get("/").content.decode()

    section = body[body.index('id="active-migrations"') :]
    assert "mig-active" in section and "mig-done" not in section


def test_an_outsider_sees_only_their_own_partners_figures(partner, quotas, outsider, client_of):
    make_vm(partner, 1)
    make_migration(partner, "mig-active", "vm-00001")

    body = client_of(outsider).get("/").content.decode()

    assert "used 170 of 200" not in body and "mig-active" not in body
    assert "All VMs (0)" in body


def test_the_nav_links_to_the_overview_and_the_vm_list(owner, client_of):
    body = client_of(owner).get("/").content.decode()

    # The overview is the current page; the VM list is one link away.
    assert 'class="nav-link active" aria-current="page" href="/"' in body
    assert 'class="nav-link" href="/vms/"' in body
