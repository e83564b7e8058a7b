"""The audit log as CSV, streamed: a keyset batch at a time (audit.selectors.entry_batches).

Under ASGI the response needs an async iterator, or Django would read the whole export into memory
before sending its first byte; under WSGI (and the test client) a plain one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async

from audit.models import AuditEntry
from audit.selectors import AuditFilters, entry_batches

HEADER = [
    "created_at",
    "person",
    "role",
    "address",
    "action",
    "object_type",
    "object_id",
    "object_link",
    "parameters",
    "outcome",
    "error_code",
    "novacron_request_id",
    "reason",
    "portal_request_id",
]


def _row(entry: AuditEntry) -> list[Any]:
    return [
        entry.created_at.isoformat(),
        entry.actor_label,
        entry.actor_role,
        entry.address or "",
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.object_link,
        json.dumps(entry.parameters, sort_keys=True) if entry.parameters else "",
        entry.outcome,
        entry.error_code,
        entry.novacron_request_id,
        entry.reason,
        entry.request_id,
    ]


def _lines(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def csv_chunks(*, partner: Any, filters: AuditFilters) -> Iterator[str]:
    yield _lines([HEADER])
    for batch in entry_batches(partner=partner, filters=filters):
        yield _lines([_row(entry) for entry in batch])


async def csv_chunks_async(*, partner: Any, filters: AuditFilters) -> AsyncIterator[str]:
    """The same chunks; each batch is read in the request's sync thread, so the event loop never
    waits on SQL."""
    chunks = csv_chunks(partner=partner, filters=filters)

    def following() -> str | None:
        return next(chunks, None)

    while (chunk := await sync_to_async(following)()) is not None:
        yield chunk
