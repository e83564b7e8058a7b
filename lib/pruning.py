"""Deleting old rows a batch at a time, so pruning a big table never holds one long lock."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

BATCH_SIZE = 1000


def delete_in_batches(queryset: QuerySet[Any], *, batch_size: int = BATCH_SIZE) -> int:
    """Delete what `queryset` matches, `batch_size` rows per statement; how many of its rows went.

    Each batch commits on its own (autocommit): a run stopped half-way keeps what it did, and the
    next run carries on. The queryset is evaluated again for every batch, so rows that stopped
    matching in between (an event picked up for reprocessing) are left alone.
    """
    model = queryset.model
    deleted = 0
    while True:
        batch = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        _, per_model = model._default_manager.filter(pk__in=batch).delete()
        deleted += int(per_model.get(model._meta.label, 0))
        if len(batch) < batch_size:
            return deleted
