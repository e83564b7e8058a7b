"""Which index PostgreSQL's planner picks for the VM list's sort orders, read from EXPLAIN.

Runs only when DATABASE_URL names PostgreSQL (as under .ci/run); SQLite picks its own plans, measured
by bench/inventory.py. 20,000 VMs and fresh statistics, so the planner chooses as it would at scale.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from vms.list_pages import beyond
from vms.models import VM
from vms.selectors import VMFilters, sort_of, vm_list

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN of PostgreSQL's planner"),
]

SORTS = ["name", "status", "created", "region", "cpu", "memory"]


@pytest.fixture
def big_fleet(partner, other_partner):
    rng = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for owner, count in ((partner, 20_000), (other_partner, 2_000)):
        VM.objects.bulk_create(
            [
                VM(
                    partner=owner,
                    vm_id=f"vm-{n:07d}",
                    name=f"{rng.choice(['web', 'db', 'api'])}-{n:07d}",
                    status=rng.choice(["running"] * 6 + ["stopped", "error", "migrating"]),
                    cpu_cores=rng.choice([1, 2, 4, 8, 16]),
                    memory_gb=rng.choice([2, 4, 8, 16]),
                    cloud_provider="aws",
                    region=rng.choice(["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]),
                    cluster="cl-1",
                    ip_address=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",
                    created_at=base + timedelta(seconds=n * 37),
                    updated_at=base,
                    synced_at=base,
                )
                for n in range(count)
            ],
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE vms_vm")
    return partner


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_page_one_and_a_cursor_page_of_each_sort_walk_that_sorts_index(big_fleet):
    # One test for all twelve orders: the fleet is loaded once.
    for sort in [*SORTS, *(f"-{s}" for s in SORTS)]:
        filters = VMFilters(sort=sort)
        vms = vm_list(partner=big_fleet, filters=filters)
        order = sort_of(filters)
        middle = vms.annotate(key=order.expression).values_list("key", "pk")[10_000]

        first_page = _plan(vms.values("pk")[:26])
        seek = beyond(vms, order, key=middle[0], pk=middle[1]).order_by(*order.order_by())
        deep_page = _plan(seek.values("pk")[:26])

        index = f"vm_sort_{sort.lstrip('-')}"
        for plan in (first_page, deep_page):
            assert index in plan, (sort, plan)
            assert "Sort" not in plan.replace("Sort Key", ""), (sort, plan)  # index order, no sort step
        # The cursor is an index condition (a seek), not a filter over rows walked from the start.
        assert "Index Cond" in deep_page, (sort, deep_page)
        if order.column != "name":
            assert "ROW(" in deep_page.split("Index Cond", 1)[1].split("\n", 1)[0], (sort, deep_page)


def test_a_pasted_ip_or_vm_id_is_an_index_lookup(big_fleet):
    for q, index in (("10.0.3.4", "vm_partner_ip"), ("vm-0000077", "vm_unique_per_partner")):
        plan = _plan(vm_list(partner=big_fleet, filters=VMFilters(q=q)).values("pk"))
        assert index in plan and "Seq Scan" not in plan, plan
