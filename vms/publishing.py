"""Pushing every change of a cached VM or migration to the partner's open pages.

`vms.cache` calls `vms_changed` and `migrations_changed` whenever a store changed a row, so whoever wrote
it (the sync, a webhook, a poll, the portal's own action) the change is published, and no caller can
forget to. The fragments are rendered once the write has committed, from the rows as committed then: a
later write committing first cannot be overtaken by an older render, and a rolled-back write publishes
nothing.

Each fragment replaces the element with its id on any page that has it (`static/js/live-stream.js`):

- `vm-status-<vm_id>`: the status badge (VM list rows, the VM page's header);
- `vm-actions-<vm_id>`: the VM page's Actions card; `vm-spec-<vm_id>`: its specification;
- `vm-row-<vm_id>`: the VM's row on the list pages (inside a `<template>`: see `_vm_fragments`);
- `fleet-breakdown`, `fleet-total`: the overview's counts (topic `FLEET_TOPIC`);
- `migration-<migration_id>`: a migration's panel (the overview, the migrations page, the VM page);
- `migration-row-<migration_id>`: its compact row (the same two lists with many active migrations),
  in the same event inside a `<template>`: a `<tr>` after the panel would be dropped by the parser.

A fragment with controls (the Actions card's Start/Stop/Delete/Migrate…, a migration's Cancel) is
published once per variant of the controls a person may use (`live.services.publish_with_controls`):
each person's stream carries only theirs, so no page receives a control its viewer may not use. The
rest of a VM's fragments is the same for everyone and goes out once. The server checks every action
again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial, wraps
from itertools import batched
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from lib.times import rendered_in_utc
from live.services import publish, publish_with_controls
from partners.models import Partner
from vms import selectors
from vms.actions import vm_can_migrate, vm_state_actions
from vms.fleet_version import fleet_changed
from vms.models import VM, Cluster, Migration
from vms.templatetags.inventory import vm_row
from vms.topics import FLEET_TOPIC, MIGRATION_TOPIC, VM_TOPIC

logger = logging.getLogger(__name__)

# VMs per outbox event: a sync page changing hundreds of VMs becomes a few events of bounded size, each
# streamed once to every open page. A VM the cache did not have is never rendered: no open page can
# show it yet (the list and the VM page read the cache), only the overview's counts change.
VMS_PER_EVENT = 25


# --- what the fragments show (the pages render the same templates from the same context) ---------


def vm_card_context(vm: VM, *, cluster: Cluster | None) -> dict[str, Any]:
    return {"vm": vm, "actions": vm_state_actions(vm), "can_migrate": vm_can_migrate(vm), "cluster": cluster}


def fleet_context(*, partner: Partner) -> dict[str, Any]:
    breakdown = selectors.vm_breakdown(partner=partner)
    return {
        "breakdown": breakdown,
        "breakdown_tables": [
            ("By status", breakdown.by_status, "status"),
            ("By cloud", breakdown.by_cloud, "cloud_provider"),
            ("By region", breakdown.by_region, "region"),
        ],
    }


# --- one partner's publishes, in the order of its writes -------------------------------------------

# A publish runs after its write committed and renders the rows as they are then. Two publishes of
# one partner running at once (two workers, a webhook batch beside a sync) could still cross: A reads
# a migration at 4 %, B's batch commits 10 % and publishes it, then A's older render lands after B's
# and the panel moves backwards. So each publish holds the partner's row lock (FOR NO KEY UPDATE, as a
# webhook batch holds it while it writes; foreign-key checks on the partner still pass) from its reads
# to its outbox rows' commit: publishes of one partner run one at a time, each one sees every write
# committed before it, and their outbox rows commit in that order.
# (On SQLite, whose write transactions begin IMMEDIATE, the database's one writer serializes them.)


def _in_write_order[**P, R](publish: Callable[P, R]) -> Callable[P, R]:
    @wraps(publish)
    def serialized(*args: P.args, **kwargs: P.kwargs) -> R:
        partner = args[0]
        assert isinstance(partner, Partner)
        with transaction.atomic():
            list(
                Partner.objects.select_for_update(no_key=True)
                .filter(pk=partner.pk)
                .values_list("pk", flat=True)
            )
            return publish(*args, **kwargs)

    return serialized


# --- many changes, one publish ------------------------------------------------------------------

# A batch of webhook events changes the same few objects many times over (a migration's progress
# events, a burst of vm.* events): publishing after each would render the same fragments, and the
# fleet's counts, once per event. Inside `coalesced()` the changes are gathered instead and published
# once when the enclosing transaction commits, from the rows as committed then: what a page receives
# is the same as after the last of the per-change publishes, minus the intermediate renders.


@dataclass
class _PartnerChanges:
    partner: Partner
    vm_ids: set[str] = field(default_factory=set)
    removed: dict[str, VM] = field(default_factory=dict)
    vms_moved: bool = False  # a VM was added, updated or removed: the fleet's counts are published
    migration_ids: set[str] = field(default_factory=set)

    def add_vms(self, vm_ids: Iterable[str], removed: Iterable[VM]) -> None:
        self.vms_moved = True
        self.vm_ids.update(vm_ids)
        self.removed.update((vm.vm_id, vm) for vm in removed)

    def publish(self) -> None:
        if self.vms_moved:
            # A VM removed and then made again in the batch (a reused id) is shown as it is now.
            _publish_vms(self.partner, sorted(self.vm_ids | set(self.removed)), list(self.removed.values()))
        if self.migration_ids:
            _publish_migrations(self.partner, sorted(self.migration_ids))


@dataclass
class _Gathered:
    by_partner: dict[int, _PartnerChanges] = field(default_factory=dict)

    def of(self, partner: Partner) -> _PartnerChanges:
        return self.by_partner.setdefault(partner.pk, _PartnerChanges(partner))

    def publish(self) -> None:
        for changes in self.by_partner.values():
            try:
                changes.publish()
            except Exception:  # as with on_commit(robust=True): one partner's render must not stop the rest
                logger.exception("publishing the changes of partner %s failed", changes.partner.pk)


_local = threading.local()


def _gathering() -> _Gathered | None:
    gathered: _Gathered | None = getattr(_local, "gathered", None)
    return gathered


@contextmanager
def coalesced() -> Iterator[None]:
    """Gather the changes published inside, and publish them once after the transaction commits.

    Use it inside `transaction.atomic()`. A change whose savepoint rolled back may still be published:
    that re-renders a row as committed, which a page shows already (fragments replace by id). Nested
    uses join the outermost one. When the block raises, nothing is published.
    """
    if _gathering() is not None:
        yield
        return
    gathered = _local.gathered = _Gathered()
    try:
        yield
    finally:
        _local.gathered = None
    if gathered.by_partner:
        transaction.on_commit(gathered.publish, robust=True)


# --- VMs ----------------------------------------------------------------------------------------


# Partners (pk) whose overview counts are published once at the end of the current bulk write, and
# whether that write changed them yet (see `fleet_counts_once`).
_fleet_deferred: ContextVar[dict[int, bool] | None] = ContextVar("fleet_deferred", default=None)


@contextmanager
def fleet_counts_once(*, partner: Partner, soon: bool = False) -> Iterator[None]:
    """Within this block the overview's fleet counts of `partner` are published once, at its end.

    A sync writes the fleet page by page; each page still publishes its changed VMs at once, but
    recounting 100,000 VMs after every page of 500 would cost more than the page. The counts go out
    after the last page (once committed), and only when some page changed them.

    `soon`: at the end they are not published there and then but queued to be, within about a
    second, once for every such block meanwhile (`fleet_counts_soon`): a bulk job's items each change
    a VM, many a second, and recounting the fleet after each would cost more than the item.
    """
    deferred = dict(_fleet_deferred.get() or {})
    if partner.pk in deferred:
        yield
        return
    token = _fleet_deferred.set({**deferred, partner.pk: False})
    try:
        yield
    finally:
        changed = (_fleet_deferred.get() or {}).get(partner.pk, False)
        _fleet_deferred.reset(token)
        if changed and soon:
            fleet_counts_soon(partner_pk=partner.pk)
        elif changed:
            transaction.on_commit(lambda: _publish_fleet(partner), robust=True)


# vms.tasks imports this module, so the task is looked up by name.
PUBLISH_FLEET_TASK = "vms.publish_fleet"
FLEET_SOON_WINDOW_SECONDS = 1.0
FLEET_SOON_DELAY_SECONDS = 1.2


def fleet_counts_soon(*, partner_pk: int) -> None:
    """Have the partner's fleet counts published in about a second, once for every change meanwhile."""
    from celery import current_app

    from lib.debounce import run_soon

    transaction.on_commit(
        lambda: run_soon(
            current_app.tasks[PUBLISH_FLEET_TASK],
            name="fleet-counts",
            key=partner_pk,
            window=FLEET_SOON_WINDOW_SECONDS,
            delay=FLEET_SOON_DELAY_SECONDS,
        ),
        robust=True,
    )


def fleet_counts_publish(*, partner_pk: int) -> None:
    """The fleet counts' publish itself (the task `fleet_counts_soon` queues)."""
    partner = Partner.objects.filter(pk=partner_pk).first()
    if partner is not None:
        _publish_fleet(partner)


def vms_changed(
    *, partner: Partner, vm_ids: Iterable[str] = (), removed: Iterable[VM] = (), added: int = 0
) -> None:
    """Publish, once the current transaction commits, the fragments of VMs that changed.

    `vm_ids`: VMs updated in place; `removed`: rows just deleted (shown once more, as deleted);
    `added`: how many VMs are new to the cache (they move only the overview's counts).
    """
    updated, gone = sorted(set(vm_ids)), list(removed)
    if not (updated or gone or added):
        return
    # Every write of a VM row is announced here: figures kept for the fleet as it was are now stale.
    fleet_changed(partner_pk=partner.pk)
    gathered = _gathering()
    if gathered is not None:
        gathered.of(partner).add_vms(updated, gone)
        return
    transaction.on_commit(lambda: _publish_vms(partner, updated, gone), robust=True)


@_in_write_order
@rendered_in_utc
def _publish_vms(partner: Partner, vm_ids: Sequence[str], removed: Sequence[VM]) -> None:
    rows = {
        vm.vm_id: vm
        for vm in VM.objects.filter(partner=partner, vm_id__in=[*vm_ids, *(vm.vm_id for vm in removed)])
    }
    # Rows as committed now: a VM removed since its update is left to the removal's own publish, and a
    # removed one that came back (an id reused) to its own write.
    vms = [rows[vm_id] for vm_id in vm_ids if vm_id in rows]
    gone_now = [vm for vm in removed if vm.vm_id not in rows]
    for vm in gone_now:
        vm.status = VM.Status.DELETED
    clusters = {
        cluster.cluster_id: cluster
        for cluster in Cluster.objects.filter(partner=partner, cluster_id__in={vm.cluster for vm in vms})
    }
    list_url = reverse("vms:list")
    for chunk in batched([*vms, *gone_now], VMS_PER_EVENT):
        publish(
            partner=partner, topic=VM_TOPIC, html=_vm_fragments(chunk, clusters=clusters, list_url=list_url)
        )
        publish_with_controls(
            partner=partner,
            topic=VM_TOPIC,
            render=partial(_vm_action_cards, chunk, clusters=clusters),
        )
    deferred = _fleet_deferred.get()
    if deferred is not None and partner.pk in deferred:
        deferred[partner.pk] = True
        return
    _publish_fleet(partner)


@_in_write_order
def _publish_fleet(partner: Partner) -> None:
    fleet = {**fleet_context(partner=partner), "oob": True}
    html = render_to_string("vms/overview.html#fleet_total", fleet) + render_to_string(
        "vms/overview.html#fleet", fleet
    )
    publish(partner=partner, topic=FLEET_TOPIC, html=html)


def _vm_fragments(vms: Sequence[VM], *, clusters: dict[str, Cluster], list_url: str) -> str:
    """What everyone sees of these VMs: badges, specifications and list rows (no controls)."""
    cards = []
    for vm in vms:
        context = {**vm_card_context(vm, cluster=clusters.get(vm.cluster)), "oob": True}
        cards.append(render_to_string("vms/_vm_status.html", context))
        cards.append(render_to_string("vms/_vm_spec.html", context))
    # The list rows go inside a <template>: after the cards' <div>s the HTML parser is in body mode,
    # where a bare <tr> is dropped; a template's content is parsed on its own (live-stream.js unpacks it).
    rows = "".join(vm_row(vm, list_url, oob=True) for vm in vms)
    return "\n".join([*cards, f"<template>{rows}</template>"])


def _vm_action_cards(vms: Sequence[VM], controls: frozenset[str], *, clusters: dict[str, Cluster]) -> str:
    """These VMs' Actions cards with only the controls of the actions in `controls`."""
    return "\n".join(
        render_to_string(
            "vms/_actions.html",
            {**vm_card_context(vm, cluster=clusters.get(vm.cluster)), "oob": True, "controls": controls},
        )
        for vm in vms
    )


# --- migrations ---------------------------------------------------------------------------------


def migrations_changed(*, partner: Partner, migration_ids: Iterable[str]) -> None:
    """Publish, once the current transaction commits, the panels of migrations that changed."""
    ids = sorted(set(migration_ids))
    if not ids:
        return
    gathered = _gathering()
    if gathered is not None:
        gathered.of(partner).migration_ids.update(ids)
        return
    transaction.on_commit(lambda: _publish_migrations(partner, ids), robust=True)


@_in_write_order
@rendered_in_utc
def _publish_migrations(partner: Partner, migration_ids: Sequence[str]) -> None:
    # One event per migration: its panel and its row are the units a page adds to its lists
    # (data-live-containers); a page shows one or the other, and ignores the id it does not have.
    # Each in the variants of who may cancel it (the same for everyone once it can no longer be cancelled).
    for migration in Migration.objects.filter(partner=partner, migration_id__in=migration_ids).order_by(
        "migration_id"
    ):
        publish_with_controls(
            partner=partner, topic=MIGRATION_TOPIC, render=partial(_migration_variant, migration)
        )


def _migration_variant(migration: Migration, controls: frozenset[str]) -> str:
    return migration_fragments(migration, controls=controls)


def migration_fragments(migration: Migration, *, controls: frozenset[str] = frozenset()) -> str:
    """A migration's panel, then its compact row wrapped in a `<template>`, with only the controls of
    the actions in `controls` (a Cancel needs `migration:execute`).

    In the parser's body mode (after the panel's `<div>`) a bare `<tr>` is dropped; a `<template>`'s
    content is parsed on its own, so the row survives, and `live-stream.js` applies its children.
    """
    context = {"migration": migration, "oob": True, "controls": controls}
    panel = render_to_string("vms/migrations/_panel.html", context)
    row = render_to_string("vms/migrations/_row.html", context)
    return f"{panel}\n<template>{row.strip()}</template>"
