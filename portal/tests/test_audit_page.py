"""The audit log's page and CSV export: partner admins only, their own partner's rows only, filtered by
GET parameters, keyset-paginated, streamed."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from audit.selectors import PAGE_SIZE

pytestmark = pytest.mark.django_db


def write(
    partner: Any, actor: Any, action: str, *, object_id: str = "vm-00001", age: timedelta = timedelta(0)
) -> AuditEntry:
    return AuditEntry.objects.create(
        partner=partner,
        actor=actor,
        actor_label=actor.email if actor else "",
        action=action,
        object_type="vm",
        object_id=object_id,
        outcome=AuditEntry.Outcome.SUCCESS,
        created_at=timezone.now() - age,
    )


def page_ids(client: Client, query: str = "") -> list[str]:
    answer = client.get("/audit/" + query)
    assert answer.status_code == 200
    return [entry.object_id for entry in answer.context["entries"]]


def test_viewers_and_operators_are_refused(client_of: Any, viewer: Any, operator: Any) -> None:
    for person in (viewer, operator):
        assert client_of(person).get("/audit/").status_code == 403
        assert client_of(person).get("/audit/export.csv").status_code == 403


def test_another_partners_rows_are_never_shown_or_exported(
    client_of: Any, partner: Any, owner: Any, other_partner: Any, outsider: Any
) -> None:
    write(partner, owner, "vm.stop", object_id="vm-ours")
    write(other_partner, outsider, "vm.stop", object_id="vm-theirs")
    admin = client_of(owner)

    assert page_ids(admin) == ["vm-ours"]
    # Naming the other partner's person (not a choice here) or object finds none of theirs.
    assert "vm-theirs" not in page_ids(admin, f"?person={outsider.pk}")
    assert page_ids(admin, "?object=vm-theirs") == []
    exported = b"".join(admin.get("/audit/export.csv").streaming_content).decode()
    assert "vm-ours" in exported and "vm-theirs" not in exported


def test_filters_by_person_action_object_and_dates_are_in_the_address(
    client_of: Any, partner: Any, owner: Any, operator: Any
) -> None:
    write(partner, operator, "vm.stop", object_id="a")
    write(partner, owner, "vm.start", object_id="b")
    write(partner, operator, "vm.start", object_id="c", age=timedelta(days=10))
    admin = client_of(owner)
    today = timezone.localdate()

    assert page_ids(admin, f"?person={operator.pk}") == ["a", "c"]
    assert page_ids(admin, "?action=vm.start") == ["b", "c"]
    assert page_ids(admin, "?object=c") == ["c"]
    assert page_ids(admin, f"?since={today - timedelta(days=1)}") == ["b", "a"]
    assert page_ids(admin, f"?until={today - timedelta(days=5)}") == ["c"]
    assert page_ids(admin, f"?person={operator.pk}&action=vm.start") == ["c"]


def test_a_range_ending_before_it_starts_says_so(client_of: Any, owner: Any) -> None:
    answer = client_of(owner).get("/audit/?since=2026-05-02&until=2026-05-01")

    assert "The end of the range is before its start." in answer.content.decode()


def test_older_pages_follow_on_without_repeats_at_a_constant_number_of_queries(
    client_of: Any, partner: Any, owner: Any
) -> None:
    moment = timezone.now()
    # Three pages' worth, many sharing one timestamp: the cursor must break ties by id.
    AuditEntry.objects.bulk_create(
        AuditEntry(
            partner=partner,
            action="vm.stop",
            object_id=f"vm-{n:05d}",
            outcome="success",
            created_at=moment - timedelta(seconds=n // 7),
        )
        for n in range(PAGE_SIZE * 3)
    )
    admin = client_of(owner)
    seen: list[str] = []
    costs = []
    url = "/audit/?action=vm.stop"
    while url:
        with CaptureQueriesContext(connection) as queries:
            answer = admin.get(url)
        costs.append(len(queries))
        seen += [entry.object_id for entry in answer.context["entries"]]
        url = answer.context["next_url"] and "/audit/" + answer.context["next_url"]

    newest_first = sorted(range(PAGE_SIZE * 3), key=lambda n: (n // 7, -n))
    assert seen == [f"vm-{n:05d}" for n in newest_first]
    assert len(set(costs)) == 1, costs


def test_the_export_streams_the_current_filter_as_csv(
    client_of: Any, partner: Any, owner: Any, operator: Any
) -> None:
    write(partner, operator, "vm.stop", object_id="a")
    write(partner, owner, "vm.start", object_id="b")

    answer = client_of(owner).get(f"/audit/export.csv?person={operator.pk}")

    assert answer.streaming and answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert [(row["action"], row["object_id"], row["person"]) for row in rows] == [
        ("vm.stop", "a", operator.email)
    ]


def test_the_page_links_to_it_from_the_navigation_for_admins_only(
    client_of: Any, owner: Any, viewer: Any
) -> None:
    assert 'href="/audit/"' in client_of(owner).get("/accounts/").content.decode()
    assert 'href="/audit/"' not in client_of(viewer).get("/accounts/").content.decode()
