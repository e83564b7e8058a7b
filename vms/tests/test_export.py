"""The VM list's CSV download: the current filter and sort, streamed in keyset chunks."""

from __future__ import annotations

import csv
import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.http import StreamingHttpResponse
from django.test import AsyncClient
from django.utils import timezone

from tests.factories import make_vm, make_vms, record_sync
from vms import exports

pytestmark = pytest.mark.django_db

URL = "/vms/export.csv"


def _rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def fleet(partner):
    make_vms(partner, 450, status="running", cpu_cores=4)
    make_vms(partner, 30, start=1000, status="stopped", region="eu-west-1")
    record_sync(partner, finished_at=timezone.now())


def test_the_csv_holds_the_lists_rows_in_the_lists_order(fleet, owner, client_of, monkeypatch):
    monkeypatch.setattr(exports, "FIRST_CHUNK_ROWS", 7)
    monkeypatch.setattr(exports, "CHUNK_ROWS", 50)  # many chunks, each after the last one's row
    client = client_of(owner)
    listed = [
        vm.vm_id
        for vm in client.get("/vms/?status=running&sort=-created&per_page=200").context["page"].object_list
    ]

    response = client.get(f"{URL}?status=running&sort=-created")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="vms-partner-acme-')
    rows = _rows(response)
    assert len(rows) == 450 and len({row["vm_id"] for row in rows}) == 450
    assert [row["vm_id"] for row in rows[:200]] == listed
    assert {row["status"] for row in rows} == {"running"}


def test_the_csv_counts_as_many_rows_as_the_filtered_list(fleet, owner, client_of):
    client = client_of(owner)
    for query in ("region=eu-west-1", "status=stopped&sort=name", "", "q=bulk-0100", "status=error"):
        listed = client.get(f"/vms/?{query}").context["page"].paginator.count
        assert len(_rows(client.get(f"{URL}?{query}"))) == listed, query


def test_each_column_is_written_plainly(partner, owner, client_of):
    make_vm(partner, 1, name="alpha", tags={"team": "web", "env": "prod"}, ip_address="10.1.2.3")

    (row,) = _rows(client_of(owner).get(URL))

    assert row["vm_id"] == "vm-00001" and row["name"] == "alpha" and row["ip_address"] == "10.1.2.3"
    assert json.loads(row["tags"]) == {"env": "prod", "team": "web"}
    assert row["created_at"] == "2026-01-15T10:01:00+00:00"
    assert row["cpu_cores"] == "2" and row["memory_gb"] == "4"


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)"])
def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text(partner, owner, client_of, name):
    make_vm(partner, 1, name=name)

    (row,) = _rows(client_of(owner).get(URL))

    assert row["name"] == "'" + name


def test_another_partners_vms_are_never_exported(fleet, outsider, client_of, other_partner):
    make_vms(other_partner, 3, start=5000)

    rows = _rows(client_of(outsider).get(URL))

    assert [row["vm_id"] for row in rows] == ["vm-05000", "vm-05001", "vm-05002"]


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_links_to_the_csv_of_its_own_filter(fleet, owner, client_of):
    body = client_of(owner).get("/vms/?status=running&sort=-cpu&page=2").content.decode()

    assert 'id="vm-export" href="/vms/export.csv?status=running&amp;sort=-cpu"' in body


def test_under_asgi_the_csv_streams_chunk_by_chunk(partner, owner, monkeypatch):
    make_vms(partner, 120)
    monkeypatch.setattr(exports, "FIRST_CHUNK_ROWS", 10)
    monkeypatch.setattr(exports, "CHUNK_ROWS", 25)

    async def download() -> tuple[bool, list[bytes]]:
        # Through Django's ASGI handler; its database work runs back on this thread (thread_sensitive).
        client = AsyncClient()
        await client.aforce_login(owner)
        response = await client.get(URL)
        return response.is_async, [chunk async for chunk in response.streaming_content]

    is_async, chunks = async_to_sync(download)()

    assert is_async  # an async iterator: Django would read a sync one whole before sending it
    assert len(chunks) == 1 + 120 // 25 + 1  # the header and 10 rows, then chunks of 25, then the rest
    lines = b"".join(chunks).decode().splitlines()
    assert lines[0].startswith("vm_id,name,status") and len(lines) == 121
