"""The VM list as CSV: the rows of the current filter and sort, read in keyset chunks and streamed.

No chunk holds more than `CHUNK_ROWS` rows and no cursor stays open between chunks (each is one
index-range query after the previous chunk's last row), so 100,000 VMs start downloading at once and
memory stays flat however long the export runs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet

from partners.models import Partner
from vms.list_pages import SORT_KEY, beyond
from vms.models import VM
from vms.selectors import VM_LIST_COLUMNS, VMFilters, sort_of, vm_list

# The CSV has the list's own columns, in its order.
COLUMNS = VM_LIST_COLUMNS
# The first chunk is small so the download starts at once; later ones are larger, for throughput.
FIRST_CHUNK_ROWS = 200
CHUNK_ROWS = 2000
# A cell a spreadsheet would run as a formula (OWASP "CSV injection") is written as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _line(writer: Any, buffer: io.StringIO, rows: list[list[Any]]) -> bytes:
    writer.writerows(rows)
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def vm_csv_chunks(*, partner: Partner, filters: VMFilters) -> Iterator[bytes]:
    """The header, then the matching VMs in the list's order, a chunk of CSV lines at a time."""
    sort = sort_of(filters)
    vms: QuerySet[VM] = vm_list(partner=partner, filters=filters).annotate(**{SORT_KEY: sort.expression})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    size = FIRST_CHUNK_ROWS
    window = vms
    while True:
        rows = list(window.values_list(*COLUMNS, "pk", SORT_KEY)[:size])
        lines = []
        for row in rows:
            values = list(row[: len(COLUMNS)])
            values[COLUMNS.index("tags")] = json.dumps(values[COLUMNS.index("tags")] or {}, sort_keys=True)
            values[COLUMNS.index("created_at")] = values[COLUMNS.index("created_at")].isoformat()
            lines.append([_cell(value) for value in values])
        yield _line(writer, buffer, lines)
        if len(rows) < size:
            return
        *_, pk, key = rows[-1]
        window = beyond(vms, sort, key=key, pk=pk)
        size = CHUNK_ROWS


async def asynchronous(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The same chunks for an ASGI server, each read on the request's thread for database work.

    Django consumes a synchronous iterator under ASGI by reading it whole into a list first, which
    would hold the entire export in memory; an async iterator streams.
    """
    read = sync_to_async(_next_chunk, thread_sensitive=True)
    while (chunk := await read(chunks)) is not None:
        yield chunk


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)
