"""lib.bulk writes exactly what the ORM would: values through each field's preparation (JSON,
aware datetimes), conflicts skipped or turned into updates, one statement for all the rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lib.bulk import insert_many, update_many
from vms.models import VM

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


def _vm(partner: Any, n: int, **fields: Any) -> VM:
    values = {
        "name": f"web-{n}",
        "status": "running",
        "tags": {"env": "prod", "cost-center": f"cc-{n}"},
        "created_at": WHEN,
        "updated_at": WHEN,
        "synced_at": WHEN,
        **fields,
    }
    return VM(partner=partner, vm_id=f"vm-{n:04d}", **values)


def test_insert_many_writes_every_row_in_one_statement(partner: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert insert_many([_vm(partner, n) for n in range(50)]) == 50
    assert len(queries) == 1
    row = VM.objects.get(vm_id="vm-0007")
    assert (row.tags, row.created_at, row.partner_id) == (
        {"env": "prod", "cost-center": "cc-7"},
        WHEN,
        partner.pk,
    )


def test_insert_many_skips_or_updates_conflicting_rows(partner: Any) -> None:
    insert_many([_vm(partner, 1), _vm(partner, 2)])
    insert_many([_vm(partner, 1, name="ignored"), _vm(partner, 3)], on_conflict="ignore")
    assert dict(VM.objects.values_list("vm_id", "name")) == {
        "vm-0001": "web-1",
        "vm-0002": "web-2",
        "vm-0003": "web-3",
    }
    insert_many(
        [_vm(partner, 2, name="renamed", status="stopped", tags={"env": "dev"})],
        on_conflict="update",
        unique_fields=["partner", "vm_id"],
        update_fields=["name", "tags"],
    )
    row = VM.objects.get(vm_id="vm-0002")
    # Only the named fields change: the status stays as it was.
    assert (row.name, row.tags, row.status) == ("renamed", {"env": "dev"}, "running")
    assert VM.objects.count() == 3


def test_update_many_sets_each_row_to_its_own_values(partner: Any) -> None:
    insert_many([_vm(partner, n) for n in range(5)])
    rows = list(VM.objects.order_by("vm_id"))
    for n, row in enumerate(rows):
        row.cpu_cores, row.updated_at = n * 2, WHEN.replace(minute=n)
    with CaptureQueriesContext(connection) as queries:
        update_many(rows[1:], ["cpu_cores", "updated_at"])
    assert len(queries) == 1
    stored = {vm.vm_id: (vm.cpu_cores, vm.updated_at.minute) for vm in VM.objects.all()}
    assert stored == {
        "vm-0000": (0, 30),
        "vm-0001": (2, 1),
        "vm-0002": (4, 2),
        "vm-0003": (6, 3),
        "vm-0004": (8, 4),
    }


def test_nothing_to_write_runs_no_statement(partner: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert insert_many([]) == 0
        assert update_many([], ["name"]) == 0
    assert len(queries) == 0
