"""The VM list's pages: numbered pages by offset, Next and Previous by keyset (an opaque cursor).

A numbered page (`?page=7`) is an OFFSET over the sorted ids, which is cheap near the top and costs
a walk over every skipped index entry further down. Next and Previous links carry a cursor instead
(`?after=…`, `?before=…`): the last (or first) row's sort key and id, so the next page is an index
seek on `(sort key, id)` whatever its depth. Both stay plain URLs, bookmarkable beside the filters.

A cursor names the sort and the filters it was made for; under others (a bookmark edited by hand, a
filter changed) it is ignored and the list starts at page 1, as it does for a cursor that does not
decode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual

from vms.models import VM
from vms.selectors import VM_LIST_COLUMNS, Sort, VMFilters, sort_of

# The annotation that carries each row's sort key as the database computes it (lower(name) folds
# case as the database does, which Python's str.lower does not always match).
SORT_KEY = "list_sort_key"


@dataclass(frozen=True)
class Cursor:
    """A position in one sorted, filtered list: the sort key and id of a row, and its page number."""

    key: Any
    pk: int
    page: int


def _fingerprint(filters: VMFilters) -> str:
    text = json.dumps([filters.status, filters.cloud_provider, filters.region, filters.cluster,
                       filters.tag_key, filters.tag_value, filters.q, sort_of(filters).key,
                       sort_of(filters).descending])  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(filters: VMFilters, *, key: Any, pk: int, page: int) -> str:
    value = key.isoformat() if isinstance(key, datetime) else key
    payload = json.dumps([_fingerprint(filters), value, pk, page], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(filters: VMFilters, text: str | None) -> Cursor | None:
    """The cursor, or None when it is missing, malformed or made for another sort or filter."""
    if not text or len(text) > 512:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        fingerprint, value, pk, page = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if fingerprint != _fingerprint(filters) or type(pk) is not int or type(page) is not int or page < 1:
        return None
    column = sort_of(filters).column
    if column == "created_at":
        try:
            value = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
        if value is None or value.tzinfo is None:
            return None
    elif column in ("cpu_cores", "memory_gb"):
        if type(value) is not int:
            return None
    elif not isinstance(value, str):
        return None
    return Cursor(key=value, pk=pk, page=page)


def beyond(vms: QuerySet[VM], sort: Sort, *, key: Any, pk: int, forward: bool = True) -> QuerySet[VM]:
    """The rows after (`forward`) or before a position in the sort order, as an index range."""
    later = forward != sort.descending  # "after" in a descending list means smaller keys
    if sort.column == "name":
        # SQLite seeks an expression index on a plain comparison but not on a row value: the key's
        # range is the index seek, and the id only splits the (rare) rows with the same name.
        key_expr, pk_expr = sort.expression, F("pk")
        if later:
            return vms.filter(
                GreaterThanOrEqual(key_expr, key),
                GreaterThan(key_expr, key) | (Exact(key_expr, key) & GreaterThan(pk_expr, pk)),
            )
        return vms.filter(
            LessThanOrEqual(key_expr, key),
            LessThan(key_expr, key) | (Exact(key_expr, key) & LessThan(pk_expr, pk)),
        )
    lookup = TupleGreaterThan if later else TupleLessThan
    return vms.filter(lookup(Tuple(F(sort.column), F("pk")), (key, pk)))


def _rows(ids: QuerySet[VM], sort: Sort, *, reverse: bool = False) -> list[VM]:
    """The full rows of a slice of sorted ids, in one query.

    The database sorts narrow records (the ids, from the sort index) in a subquery and reads the full
    rows of the one page shown by primary key, instead of sorting every match with all its columns.
    """
    rows = VM.objects.only(*VM_LIST_COLUMNS).filter(pk__in=ids.values("pk"))
    return list(rows.annotate(**{SORT_KEY: sort.expression}).order_by(*sort.order_by(reverse=reverse)))


class ListPage(Page):  # type: ignore[type-arg]
    """A page of the list, numbered or reached by a cursor, with the cursors of its neighbours."""

    def __init__(
        self,
        rows: list[VM],
        number: int,
        paginator: Paginator,  # type: ignore[type-arg]
        *,
        filters: VMFilters,
        more_after: bool,
        more_before: bool,
    ) -> None:
        super().__init__(rows, number, paginator)
        self._filters = filters
        self._more_after, self._more_before = more_after, more_before

    def has_next(self) -> bool:
        return self._more_after

    def has_previous(self) -> bool:
        return self._more_before

    def _cursor(self, vm: VM, page: int) -> str:
        return encode_cursor(self._filters, key=getattr(vm, SORT_KEY), pk=vm.pk, page=page)

    @property
    def next_cursor(self) -> str:
        return self._cursor(self.object_list[-1], self.number + 1) if self._more_after else ""

    @property
    def previous_cursor(self) -> str:
        return self._cursor(self.object_list[0], max(self.number - 1, 1)) if self._more_before else ""


def vm_page(
    vms: QuerySet[VM],
    *,
    filters: VMFilters,
    count: int,
    per_page: int,
    page: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> ListPage:
    """One page of the list `vms` (filtered): by cursor when a valid one is given, else by number.

    `count` is how many rows `vms` holds: the caller has it from the grouped status counts, so no
    COUNT runs here. Past the end, a cursor shows the last page and a number the last page too.
    """
    sort = sort_of(filters)
    paginator: Paginator[VM] = Paginator([], per_page)  # only its arithmetic is used
    paginator.count = count
    last = paginator.num_pages
    number = _number(paginator, page)
    for text, forward in ((after, True), (before, False)):
        cursor = decode_cursor(filters, text)
        if cursor is None:
            continue
        window = beyond(vms, sort, key=cursor.key, pk=cursor.pk, forward=forward)
        rows = _rows(
            window.order_by(*sort.order_by(reverse=not forward))[: per_page + 1], sort, reverse=not forward
        )
        more = len(rows) > per_page
        rows = rows[:per_page]
        if forward and rows:
            shown = max(1, min(cursor.page, last))
            return ListPage(rows, shown, paginator, filters=filters, more_after=more, more_before=True)
        if not forward and more:
            rows.reverse()
            shown = max(2, min(cursor.page, last)) if last > 1 else 1
            return ListPage(rows, shown, paginator, filters=filters, more_after=True, more_before=True)
        # After the last row, or back at the start: the last page, or the first, by number.
        number = last if forward else 1
        break
    offset = (number - 1) * per_page
    rows = _rows(vms.order_by(*sort.order_by())[offset : offset + per_page + 1], sort)
    more = len(rows) > per_page
    return ListPage(
        rows[:per_page], number, paginator, filters=filters, more_after=more, more_before=number > 1
    )


def _number(paginator: Paginator, page: str | None) -> int:  # type: ignore[type-arg]
    """As Paginator.get_page: a page past the end is the last one, anything unreadable the first."""
    try:
        return paginator.validate_number(page or 1)
    except PageNotAnInteger:
        return 1
    except EmptyPage:
        return paginator.num_pages if str(page).strip().lstrip("-").isdigit() and int(page or 1) > 1 else 1
