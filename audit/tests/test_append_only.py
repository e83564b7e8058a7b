"""Audit rows are never changed or removed, except by retention pruning, which records itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from audit.models import AppendOnly, AuditEntry
from audit.services import PRUNE_ACTION, entries_prune
from portal.retention import old_records_prune

pytestmark = pytest.mark.django_db


def entry(partner: Any, *, age: timedelta = timedelta(0), action: str = "vm.stop") -> AuditEntry:
    return AuditEntry.objects.create(
        partner=partner, action=action, outcome=AuditEntry.Outcome.SUCCESS, created_at=timezone.now() - age
    )


def test_a_saved_row_cannot_be_saved_again_or_deleted(partner: Any) -> None:
    row = entry(partner)
    row.action = "vm.start"

    with pytest.raises(AppendOnly):
        row.save()
    with pytest.raises(AppendOnly):
        row.delete()
    assert AuditEntry.objects.get(pk=row.pk).action == "vm.stop"


def test_the_queryset_refuses_update_and_delete(partner: Any) -> None:
    entry(partner)

    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(partner=partner).update(action="x")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(partner=partner).delete()
    assert AuditEntry.objects.filter(action="vm.stop").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_on_postgresql_the_database_refuses_update_and_delete_in_sql(partner: Any) -> None:
    row = entry(partner)
    for sql in (
        "UPDATE audit_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    assert AuditEntry.objects.get(pk=row.pk).action == "vm.stop"


def test_deleting_the_partner_or_the_person_leaves_their_history(partner: Any, owner: Any) -> None:
    AuditEntry.objects.create(
        partner=partner, actor=owner, actor_label=owner.email, action="vm.stop", outcome="success"
    )
    owner.delete()

    assert AuditEntry.objects.filter(partner=partner, actor_label="admin@acme.example").count() == 1


def test_the_admin_offers_no_add_change_or_delete_even_to_a_superuser(partner: Any) -> None:
    from accounts.models import User

    root = User.objects.create_superuser("root", "root@portal.example", "pw-unused-here")
    row = entry(partner)
    client = Client()
    client.force_login(root)

    assert client.get("/admin/audit/auditentry/").status_code == 200  # every partner's rows
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{row.pk}/change/", {"action": "x"}).status_code == 403
    assert client.post(f"/admin/audit/auditentry/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=row.pk, action="vm.stop").exists()


def test_pruning_removes_only_old_rows_and_records_how_many_per_partner(
    partner: Any, other_partner: Any
) -> None:
    year = timedelta(days=365)
    entry(partner, age=year + timedelta(days=1))
    entry(partner, age=year + timedelta(days=2))
    entry(other_partner, age=year + timedelta(days=3))
    young = entry(partner, age=year - timedelta(days=1))

    assert entries_prune(older_than=year) == 3

    records = {
        row.partner_id: row.parameters["removed"] for row in AuditEntry.objects.filter(action=PRUNE_ACTION)
    }
    assert records == {partner.pk: 2, other_partner.pk: 1}
    assert set(AuditEntry.objects.exclude(action=PRUNE_ACTION)) == {young}


def test_the_hourly_job_prunes_the_audit_log_by_its_setting(partner: Any, settings: Any) -> None:
    settings.AUDIT_RETENTION_DAYS = 10
    entry(partner, age=timedelta(days=11))
    entry(partner, age=timedelta(days=9))

    assert old_records_prune()["audit_entries"] == 1
    assert AuditEntry.objects.filter(action=PRUNE_ACTION, partner=partner).count() == 1
    # Nothing old left: the next run removes nothing and records nothing.
    assert old_records_prune()["audit_entries"] == 0
    assert AuditEntry.objects.filter(action=PRUNE_ACTION).count() == 1
