"""On SQLite, the receiver's database work runs on one long-lived writer thread.

Under ASGI every sync request runs on a fresh thread, so each webhook would open a new SQLite
connection (and re-read the schema) just to write one row; SQLite takes one writer at a time anyway.
A single writer thread keeps one connection for the life of the process and queues writers fairly.
Other databases (PostgreSQL) run the work inline, on the request's own connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-writer")
        return _executor


def _call[T](work: Callable[..., T], kwargs: dict[str, Any]) -> T:
    try:
        return work(**kwargs)
    except DatabaseError:
        # A broken connection must not poison every later delivery: reconnect on the next call.
        connection.close()
        raise


def run_as_writer[T](work: Callable[..., T], /, **kwargs: Any) -> T:
    """`work(**kwargs)` on the writer thread when the database is SQLite, else right here.

    Inside an open transaction the work must join it (another thread could not see its rows), so it
    runs inline then too.
    """
    if (
        connection.vendor != "sqlite"
        or connection.in_atomic_block
        or not settings.WEBHOOK_SQLITE_WRITER_THREAD
    ):
        return work(**kwargs)
    return _writer().submit(_call, work, kwargs).result()
