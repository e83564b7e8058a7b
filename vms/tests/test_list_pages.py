"""The VM list's pages: Next and Previous by cursor, numbered pages, search by name, VM id or IP."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils import timezone

from tests.factories import make_vm, make_vms, record_sync

pytestmark = pytest.mark.django_db

URL = "/vms/"
SORTS = ["name", "status", "created", "region", "cpu", "memory"]


@pytest.fixture
def fleet(partner):
    # 73 VMs with many ties (cpu, memory, status, region), and names whose case differs.
    for n in range(1, 74):
        make_vm(
            partner,
            n,
            name=f"{'Web' if n % 3 else 'web'}-{n % 20:02d}",
            status=["running", "stopped", "error"][n % 3],
            cpu_cores=[1, 2, 4][n % 3],
            memory_gb=[4, 8][n % 2],
            region=["us-east-1", "eu-west-1"][n % 2],
        )
    record_sync(partner, finished_at=timezone.now())


def _ids(response) -> list[str]:
    return [vm.vm_id for vm in response.context["page"].object_list]


def _link(response, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', response.content.decode())
    return unescape(match.group(1)) if match else None


def _walk(client, start: str) -> tuple[list[str], list[int]]:
    """Every VM from `start` on, following the Next links; and the page numbers shown."""
    seen, numbers, url = [], [], start
    while url:
        response = client.get(URL + url if url.startswith("?") else url)
        seen += _ids(response)
        numbers.append(response.context["page"].number)
        url = _link(response, "next")
    return seen, numbers


@pytest.mark.parametrize("sort", [*SORTS, *(f"-{s}" for s in SORTS)])
def test_next_links_walk_the_whole_list_in_order_once(fleet, owner, client_of, sort):
    client = client_of(owner)
    everything = _ids(client.get(f"{URL}?sort={sort}&per_page=200"))

    seen, numbers = _walk(client, f"?sort={sort}&per_page=25")

    assert seen == everything and len(seen) == 73
    assert numbers == [1, 2, 3]


def test_next_links_carry_a_cursor_beside_the_filters_not_a_page_number(fleet, owner, client_of):
    response = client_of(owner).get(f"{URL}?region=eu-west-1&sort=-cpu&per_page=25")

    query = _link(response, "next")
    assert query is not None and "after=" in query and not re.search(r"[?&]page=", query)
    assert "region=eu-west-1" in query and "sort=-cpu" in query


def test_previous_goes_back_to_the_page_before(fleet, owner, client_of):
    client = client_of(owner)
    second = client.get(f"{URL}?sort=-memory&page=2")
    third = client.get(URL + _link(second, "next"))

    back = client.get(URL + _link(third, "prev"))

    assert _ids(back) == _ids(second) and back.context["page"].number == 2
    first = client.get(URL + _link(back, "prev"))
    assert _ids(first) == _ids(client.get(f"{URL}?sort=-memory")) and first.context["page"].number == 1
    assert _link(first, "prev") is None


def test_a_cursor_url_is_a_bookmark_that_shows_the_same_page_again(fleet, owner, client_of):
    client = client_of(owner)
    page_two = URL + _link(client.get(f"{URL}?sort=cpu"), "next")

    assert (
        _ids(client.get(page_two)) == _ids(client.get(page_two)) == _ids(client.get(f"{URL}?sort=cpu&page=2"))
    )


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "W10", "", "%00" * 3, "A" * 600])
def test_a_cursor_that_does_not_decode_shows_the_first_page(fleet, owner, client_of, cursor):
    client = client_of(owner)

    response = client.get(f"{URL}?sort=cpu&after={cursor}")

    assert response.status_code == 200
    assert _ids(response) == _ids(client.get(f"{URL}?sort=cpu"))


def test_a_cursor_of_another_sort_or_filter_is_ignored(fleet, owner, client_of):
    client = client_of(owner)
    cursor = _link(client.get(f"{URL}?sort=cpu"), "next").split("after=")[1]

    for query in ("sort=-cpu", "sort=cpu&status=error", "sort=name"):
        response = client.get(f"{URL}?{query}&after={cursor}")
        assert _ids(response) == _ids(client.get(f"{URL}?{query}")), query


def test_a_cursor_past_the_last_row_shows_the_last_page(fleet, owner, client_of, partner):
    client = client_of(owner)
    last = client.get(URL + _link(client.get(f"{URL}?sort=created&page=2"), "next"))
    cursor_after_last = last.context["page"]._cursor(last.context["page"].object_list[-1], 4)

    response = client.get(f"{URL}?sort=created&after={cursor_after_last}")

    assert _ids(response) == _ids(last) and response.context["page"].number == 3


def test_numbered_pages_still_work_and_a_page_past_the_end_is_the_last(fleet, owner, client_of):
    client = client_of(owner)
    everything = _ids(client.get(f"{URL}?sort=region&per_page=200"))

    assert _ids(client.get(f"{URL}?sort=region&page=2")) == everything[25:50]
    assert _ids(client.get(f"{URL}?sort=region&page=99")) == everything[50:]
    assert _ids(client.get(f"{URL}?sort=region&page=nope")) == everything[:25]


def test_changing_a_filter_or_the_sort_leaves_the_cursor_behind(fleet, owner, client_of):
    client = client_of(owner)
    second = client.get(URL + _link(client.get(f"{URL}?sort=cpu"), "next"))
    body = second.content.decode()

    links = re.findall(r'href="(\?[^"]*)"', body)
    status_links = [unescape(link) for link in links if "status=" in unescape(link)]
    sort_links = [unescape(link) for link in re.findall(r'href="(\?[^"]*)"[^>]*data-sort=', body)]
    assert status_links and sort_links
    assert not any("after=" in link or "before=" in link for link in status_links + sort_links)


def test_a_cursor_from_another_partner_shows_only_ones_own_vms(
    fleet, owner, outsider, client_of, other_partner
):
    make_vms(other_partner, 30, start=500)
    cursor = _link(client_of(owner).get(f"{URL}?sort=cpu"), "next").split("after=")[1]

    response = client_of(outsider).get(f"{URL}?sort=cpu&after={cursor}")

    assert response.status_code == 200
    assert all(vm.partner_id == other_partner.pk for vm in response.context["page"].object_list)


# --- search -------------------------------------------------------------------------------------


@pytest.fixture
def addressed(partner):
    make_vm(partner, 1, vm_id="vm-9f3a61c2d4e5b607", name="billing-db", ip_address="10.20.30.40")
    make_vm(partner, 2, vm_id="vm-00000000000000aa", name="billing-api", ip_address="10.20.30.4")
    make_vm(partner, 3, vm_id="vm-00000000000000bb", name="Vm-00000000000000aa", ip_address="2001:db8::1")
    record_sync(partner, finished_at=timezone.now())


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("10.20.30.4", ["billing-api"]),  # exact: not also 10.20.30.40
        ("10.20.30.40", ["billing-db"]),
        ("2001:0db8:0000::1", ["Vm-00000000000000aa"]),  # the same address, written longer
        ("vm-9f3a61c2d4e5b607", ["billing-db"]),
        ("VM-00000000000000AA", ["Vm-00000000000000aa"]),  # ids are exact; a VM named so matches too
        ("vm-00000000000000aa", ["billing-api", "Vm-00000000000000aa"]),
        ("billing", ["billing-api", "billing-db"]),
        ("ING-D", ["billing-db"]),
        ("vm-9f3a", []),  # part of an id is not a search for ids
    ],
)
def test_search_finds_a_vm_by_name_id_or_ip(addressed, owner, client_of, q, expected):
    response = client_of(owner).get(URL, {"q": q})

    assert sorted(vm.name for vm in response.context["page"].object_list) == sorted(expected)
    assert response.context["page"].paginator.count == len(expected)


def test_an_id_or_ip_search_is_an_index_lookup_not_a_scan(addressed, owner, client_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_of(owner)
    for q in ("10.20.30.4", "vm-9f3a61c2d4e5b607"):
        with CaptureQueriesContext(connection) as queries:
            client.get(URL, {"q": q})
        searches = [query["sql"] for query in queries.captured_queries if '"vms_vm"' in query["sql"]]
        assert searches and not any("LIKE" in sql for sql in searches), q


def test_search_stays_within_the_partner(addressed, outsider, client_of):
    for q in ("10.20.30.40", "vm-9f3a61c2d4e5b607", "billing"):
        assert client_of(outsider).get(URL, {"q": q}).context["page"].object_list == []
