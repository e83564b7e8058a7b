from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_cluster, make_vm, make_vms, record_sync

pytestmark = pytest.mark.django_db

URL = "/vms/"


@pytest.fixture
def fleet(partner):
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    make_cluster(partner, "cl-gcp-euw1-a", "gcp", "europe-west1")
    make_vm(
        partner,
        1,
        name="alpha",
        status="running",
        cpu_cores=8,
        memory_gb=32,
        tags={"env": "prod", "team": "web"},
    )
    make_vm(partner, 2, name="bravo", status="stopped", cpu_cores=2, memory_gb=64, tags={"env": "dev"})
    make_vm(
        partner,
        3,
        name="charlie",
        status="running",
        cpu_cores=4,
        memory_gb=8,
        cloud_provider="gcp",
        region="europe-west1",
        cluster="cl-gcp-euw1-a",
        tags={"env": "prod", "team": "data"},
    )
    make_vm(partner, 4, name="Delta-API", status="error", cpu_cores=1, memory_gb=2, tags={})
    make_vm(
        partner,
        5,
        name="echo",
        status="migrating",
        cpu_cores=16,
        memory_gb=16,
        region="us-west-2",
        tags={"a__b": "odd"},
    )


def names(response) -> list[str]:
    return [vm.name for vm in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=running", ["alpha", "charlie"]),
        ("cloud_provider=gcp", ["charlie"]),
        ("region=us-west-2", ["echo"]),
        ("cluster=cl-gcp-euw1-a", ["charlie"]),
        ("tag=env:prod", ["alpha", "charlie"]),
        ("tag=team:data", ["charlie"]),
        ("tag=a__b:odd", ["echo"]),
        ("tag=env:nope", []),
        ("q=ELT", ["Delta-API"]),
        ("q=a&status=running&tag=team:web", ["alpha"]),
    ],
)
def test_each_filter_narrows_the_list(fleet, owner, client_of, query, expected):
    response = client_of(owner).get(f"{URL}?{query}")

    assert response.status_code == 200
    assert sorted(names(response)) == sorted(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha", "bravo", "charlie", "Delta-API", "echo"]),
        ("-name", ["echo", "Delta-API", "charlie", "bravo", "alpha"]),
        ("cpu", ["Delta-API", "bravo", "charlie", "alpha", "echo"]),
        ("-memory", ["bravo", "alpha", "echo", "charlie", "Delta-API"]),
        ("created", ["alpha", "bravo", "charlie", "Delta-API", "echo"]),
        ("-created", ["echo", "Delta-API", "charlie", "bravo", "alpha"]),
        ("status", ["Delta-API", "echo", "alpha", "charlie", "bravo"]),
        ("region", ["charlie", "alpha", "bravo", "Delta-API", "echo"]),
    ],
)
def test_each_sort_orders_the_list(fleet, owner, client_of, sort, expected):
    response = client_of(owner).get(f"{URL}?sort={sort}")

    assert names(response) == expected


def test_status_counts_follow_the_other_filters(fleet, owner, client_of):
    response = client_of(owner).get(f"{URL}?cloud_provider=aws&status=running")

    counts = response.context["counts"]
    assert (
        counts["running"] == 1
        and counts["stopped"] == 1
        and counts["error"] == 1
        and counts["migrating"] == 1
    )
    assert response.context["page"].paginator.count == 1


def test_a_bad_filter_value_is_ignored_rather_than_an_error(fleet, owner, client_of):
    response = client_of(owner).get(f"{URL}?status=exploded&per_page=7&sort=evil&tag=nocolon")

    assert response.status_code == 200
    assert len(names(response)) == 5
    assert "Write a tag as key:value, e.g. env:prod." in response.content.decode()


@pytest.mark.parametrize("per_page", [25, 50, 100, 200])
def test_the_page_size_is_chosen_from_the_offered_ones(partner, owner, client_of, per_page):
    make_vms(partner, 230)

    response = client_of(owner).get(f"{URL}?per_page={per_page}&page=2")

    page = response.context["page"]
    assert len(page.object_list) == min(per_page, 230 - per_page)
    assert page.paginator.count == 230


def test_the_list_takes_the_same_number_of_queries_whatever_the_page_size(partner, owner, client_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_vms(partner, 450)
    record_sync(partner, finished_at=timezone.now())
    client = client_of(owner)
    captured = {}
    for per_page in (25, 200):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{URL}?per_page={per_page}&sort=-cpu&tag=env:prod&page=2")
        assert len(response.context["page"].object_list) == per_page
        captured[per_page] = [query["sql"] for query in queries.captured_queries]

    assert len(captured[25]) == len(captured[200])
    # The inventory's own share: clusters (filter choices), grouped status counts, one page, last sync.
    inventory = [sql for sql in captured[200] if '"vms_' in sql]
    assert len(inventory) == 4
    # No paginator COUNT beside the grouped counts (which are the only query that groups).
    assert [sql for sql in inventory if "COUNT(" in sql] == [
        sql for sql in inventory if "GROUP BY" in sql and '"vms_vm"' in sql
    ]


def test_htmx_gets_only_the_results_fragment_and_the_url_is_bookmarkable(fleet, owner, client_of):
    client = client_of(owner)

    fragment = client.get(f"{URL}?status=stopped", headers={"HX-Request": "true"})
    page = client.get(f"{URL}?status=stopped")

    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="vm-inventory">')
    assert "<html" not in body and "bravo" in body and "alpha" not in body
    assert "<html" in page.content.decode() and "bravo" in page.content.decode()
    assert "HX-Request" in fragment["Vary"]


def test_htmx_pushes_a_clean_bookmarkable_url(fleet, owner, client_of):
    response = client_of(owner).get(
        f"{URL}?q=&status=running&cloud_provider=&region=&tag=&sort=name&per_page=50",
        headers={"HX-Request": "true"},
    )

    assert response["HX-Push-Url"] == "/vms/?status=running&per_page=50"


def test_history_restore_gets_the_whole_page(fleet, owner, client_of):
    response = client_of(owner).get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" in response.content.decode()


def test_every_htmx_link_also_has_a_plain_href(fleet, owner, client_of):
    import re

    body = client_of(owner).get(f"{URL}?per_page=25").content.decode()

    for tag in re.findall(r"<a [^>]*hx-get=[^>]*>", body):
        assert 'href="' in tag, tag


def test_sort_links_keep_the_filters(fleet, owner, client_of):
    body = client_of(owner).get(f"{URL}?status=running&sort=name").content.decode()

    assert 'href="?status=running&amp;sort=-name"' in body


def test_the_badge_warns_when_the_sync_is_late(partner, owner, client_of, settings):
    settings.SYNC_STALE_AFTER_SECONDS = 300
    record_sync(partner, finished_at=timezone.now() - timedelta(minutes=12))

    body = client_of(owner).get(URL).content.decode()

    assert 'data-stale="true"' in body and "Sync is late: data is 12 min old" in body


def test_the_badge_shows_fresh_data_plainly(partner, owner, client_of):
    record_sync(partner, finished_at=timezone.now() - timedelta(seconds=40))

    body = client_of(owner).get(URL).content.decode()

    assert 'data-stale="false"' in body and "Synced 40 s ago" in body


def test_an_outsider_sees_none_of_the_partners_vms(fleet, outsider, client_of):
    response = client_of(outsider).get(URL)

    assert response.status_code == 200
    assert names(response) == []
    assert sum(response.context["counts"].values()) == 0


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_names_tags_and_ids_are_escaped_in_the_rows(partner, owner, client_of):
    make_vm(partner, 1, name="<script>x</script>", tags={"<b>": '"quoted"'})

    body = client_of(owner).get(URL).content.decode()

    assert "<script>x</script>" not in body and "&lt;script&gt;x&lt;/script&gt;" in body
    assert "&lt;b&gt;:&quot;quoted&quot;" in body


def test_each_rows_status_is_the_live_status_badge_so_a_webhook_can_replace_it(fleet, owner, client_of):
    from django.template.loader import render_to_string

    from vms.models import VM

    body = client_of(owner).get(URL).content.decode()

    vms = list(VM.objects.all())
    assert len(vms) == 5
    for vm in vms:
        badge = render_to_string("vms/_vm_status.html", {"vm": vm})  # what processing publishes, minus oob
        assert body.count(f'id="vm-status-{vm.vm_id}"') == 1
        assert badge.strip() in body


LIVE = {"HX-Request": "true", "HX-Target": "vm-list-live"}


def test_a_pushed_change_re_reads_only_the_counts_of_the_open_filter(fleet, owner, client_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client_of(owner).get(
            f"{URL}?cloud_provider=aws&status=running", headers={**LIVE, "X-Shown-Count": "1"}
        )

    body = response.content.decode()
    assert '<ul class="nav nav-pills small mb-2" id="vm-status-counts"' in body
    assert body.count('hx-swap-oob="true"') == 2  # the counts and the change notice, nothing else
    assert 'data-status="stopped" data-count="1"' in body
    assert "vm-table" not in body and "alpha" not in body and "these filters" not in body
    # No page of rows is read: the grouped counts and what the page's chrome needs.
    assert not any('"vms_vm"."name"' in query["sql"] and "LIMIT" in query["sql"] for query in queries)
    assert "HX-Push-Url" not in response


@pytest.mark.parametrize(
    ("shown", "notice"),
    [
        ("0", "2 more VMs match these filters than when this list was loaded."),
        ("1", "1 more VM matches these filters than when this list was loaded."),
        ("3", "1 fewer VM matches these filters than when this list was loaded."),
        ("2", None),
        ("junk", None),
    ],
)
def test_the_open_list_says_when_vms_joined_or_left_its_filter(fleet, owner, client_of, shown, notice):
    response = client_of(owner).get(f"{URL}?status=running", headers={**LIVE, "X-Shown-Count": shown})

    body = response.content.decode()
    if notice:
        assert notice in body and "Show the current list" in body
    else:
        assert "these filters" not in body


def test_the_full_list_carries_the_count_it_shows_for_the_live_refresh(fleet, owner, client_of):
    body = client_of(owner).get(f"{URL}?status=running").content.decode()

    assert 'id="vm-list-live"' in body and '"X-Shown-Count": "2"' in body
    assert 'hx-trigger="live-fleet from:document throttle:2s, live-fleet from:document delay:2s"' in body
