"""The VM list's status counts are kept until the fleet next changes: a page of a quiet fleet reads
them from memory (one read of the fleet's stamp), and any write through the cache shows at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.webhook_payloads import vm_data
from vms.cache import forget_vm, store_vm
from vms.selectors import VMFilters, vm_status_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any):
    """Run a write as the worker would, its on-commit work (the new stamp) included."""

    def _committed(write: Any) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            write()

    return _committed


def _counts(partner: Any, **filters: Any) -> dict[str, int]:
    return {
        status: n
        for status, n in vm_status_counts(partner=partner, filters=VMFilters(**filters)).items()
        if n
    }


def test_counts_follow_every_write_and_are_read_from_memory_in_between(partner: Any, committed: Any) -> None:
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0001", status="running")))
    assert _counts(partner) == {"running": 1}
    with CaptureQueriesContext(connection) as queries:
        assert _counts(partner) == {"running": 1}
    assert not any("vms_vm" in query["sql"] for query in queries.captured_queries)
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0002", status="stopped", updated=60)))
    assert _counts(partner) == {"running": 1, "stopped": 1}
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0001", status="stopped", updated=120)))
    assert _counts(partner) == {"stopped": 2}
    committed(lambda: forget_vm(partner=partner, vm_id="vm-0002"))
    assert _counts(partner) == {"stopped": 1}


def test_each_filter_keeps_its_own_counts(partner: Any, committed: Any) -> None:
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0001", region="us-east-1")))
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0002", region="eu-west-1", status="stopped")))
    assert _counts(partner, region="us-east-1") == {"running": 1}
    assert _counts(partner, region="eu-west-1") == {"stopped": 1}
    assert _counts(partner) == {"running": 1, "stopped": 1}


def test_one_partners_write_leaves_the_others_counts_kept(
    partner: Any, other_partner: Any, committed: Any
) -> None:
    committed(lambda: store_vm(partner=other_partner, vm=vm_data("vm-0009")))
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0001")))
    assert _counts(other_partner) == {"running": 1}
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0002")))
    with CaptureQueriesContext(connection) as queries:
        assert _counts(other_partner) == {"running": 1}
    assert not any("vms_vm" in query["sql"] for query in queries.captured_queries)
    assert _counts(partner) == {"running": 2}


def test_a_rolled_back_write_changes_nothing(partner: Any, committed: Any) -> None:
    committed(lambda: store_vm(partner=partner, vm=vm_data("vm-0001")))
    assert _counts(partner) == {"running": 1}
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        store_vm(partner=partner, vm=vm_data("vm-0002"))
        raise RuntimeError("rolled back")
    assert _counts(partner) == {"running": 1}
