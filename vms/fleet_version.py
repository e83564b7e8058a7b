"""A per-partner stamp of the cached fleet, changed whenever a VM row is written, removed or added.

Figures computed from the whole fleet (the VM list's status counts: a grouped scan of every matching
row, the one part of the list whose cost grows with the fleet) are kept in each process's memory (the
`fleet_figures` cache) under the stamp they were computed at, the stamp itself in the shared cache; the next write changes the stamp, so the next read computes them again. Every
write of a VM row goes through `vms.cache`, which announces it (`vms.publishing.vms_changed`), and that
is where the stamp changes, once the write has committed (before the change is published, so a page
that re-reads its counts on the push finds them recomputed). A reader takes the stamp before it
computes: figures stored under a stamp a write has since replaced are never read again. The cache
entries also expire, bounding what any missed announcement could leave stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.core.cache import cache, caches
from django.db import transaction

FIGURES_TTL_SECONDS = 300


def _stamp_key(partner_pk: int) -> str:
    return f"fleet-stamp:{partner_pk}"


def fleet_changed(*, partner_pk: int) -> None:
    """The partner's fleet changed in the current transaction: a new stamp once it commits."""
    transaction.on_commit(lambda: cache.set(_stamp_key(partner_pk), uuid.uuid4().hex, None), robust=True)


def fleet_figure[T](*, partner_pk: int, name: str, compute: Callable[[], T]) -> T:
    """`compute()` as of the fleet's current stamp: from this process's memory when nothing changed
    since (one read of the shared stamp), else computed and kept. Before the first write there is no
    stamp yet, and nothing is kept."""
    stamp = cache.get(_stamp_key(partner_pk))
    if stamp is None:
        return compute()
    figures, key = caches["fleet_figures"], f"{partner_pk}:{name}"
    kept = figures.get(key)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == stamp:
        return kept[1]  # type: ignore[no-any-return]
    value = compute()
    figures.set(key, (stamp, value), FIGURES_TTL_SECONDS)
    return value
