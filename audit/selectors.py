"""Reading the audit log: one partner's rows, filtered, newest first, a keyset page at a time.

A page is found by where the previous one ended (`created_at`, `id`), never by an offset, so the
thousandth page costs what the first does: the index (partner, [filter column,] -created_at, -id)
is entered at the cursor and read for one page's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from audit.models import AuditEntry

PAGE_SIZE = 50
EXPORT_BATCH_SIZE = 2000


@dataclass(frozen=True)
class AuditFilters:
    person: int | None = None
    action: str = ""
    object_id: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the next page holds rows strictly older than this one."""

    created_at: datetime
    entry_id: int

    def token(self) -> str:
        return f"{self.created_at.isoformat()}~{self.entry_id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        moment, _, entry_id = (token or "").partition("~")
        parsed = parse_datetime(moment) if moment else None
        if parsed is None or not entry_id.isdigit():
            return None
        return cls(parsed, int(entry_id))


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: Cursor | None


def entry_list(*, partner: Any, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The partner's rows matching the filters, newest first (never another partner's)."""
    rows = AuditEntry.objects.filter(partner=partner)
    if filters.person is not None:
        rows = rows.filter(actor_id=filters.person)
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.object_id:
        rows = rows.filter(object_id=filters.object_id)
    if filters.since is not None:
        rows = rows.filter(created_at__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(created_at__lt=filters.until)
    return rows.order_by("-created_at", "-id")


def _after(rows: QuerySet[AuditEntry], cursor: Cursor | None) -> QuerySet[AuditEntry]:
    if cursor is None:
        return rows
    # `created_at <= c` bounds the index range; the OR then drops the rows of the same moment already shown.
    return rows.filter(created_at__lte=cursor.created_at).filter(
        Q(created_at__lt=cursor.created_at) | Q(id__lt=cursor.entry_id)
    )


def entry_page(
    *, partner: Any, filters: AuditFilters, cursor: Cursor | None, size: int = PAGE_SIZE
) -> AuditPage:
    rows = list(_after(entry_list(partner=partner, filters=filters), cursor)[: size + 1])
    entries = rows[:size]
    more = len(rows) > size
    last = entries[-1] if entries else None
    return AuditPage(entries, Cursor(last.created_at, last.pk) if more and last else None)


def entry_batches(
    *, partner: Any, filters: AuditFilters, size: int = EXPORT_BATCH_SIZE
) -> Iterator[list[AuditEntry]]:
    """Every matching row, a keyset batch per query: an export of any length holds one batch in memory
    and no long-running cursor or transaction."""
    cursor: Cursor | None = None
    while True:
        page = entry_page(partner=partner, filters=filters, cursor=cursor, size=size)
        if page.entries:
            yield page.entries
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def people_of(*, partner: Any) -> list[tuple[int, str]]:
    """The partner's people, for the person filter: (id, email)."""
    people = get_user_model().objects.filter(partner=partner).order_by("email")
    return [(pk, email or "") for pk, email in people.values_list("pk", "email")]
