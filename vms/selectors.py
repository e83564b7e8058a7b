"""Reads of the inventory cache, always scoped to one partner."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, F, Func, Max, OrderBy, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from partners.models import Partner, Quota
from vms.fleet_version import fleet_figure
from vms.models import VM, Cluster, Migration, SyncRun

# Sort keys offered in the list, and their columns.
SORTS: dict[str, str] = {
    "name": "name",
    "status": "status",
    "created": "created_at",
    "region": "region",
    "cpu": "cpu_cores",
    "memory": "memory_gb",
}
DEFAULT_SORT = "name"
VM_LIST_COLUMNS = [
    "vm_id",
    "name",
    "status",
    "template",
    "cpu_cores",
    "memory_gb",
    "disk_size_gb",
    "cloud_provider",
    "region",
    "cluster",
    "ip_address",
    "tags",
    "created_at",
]
STATUS_ORDER = [value for value in VM.Status.values if value != VM.Status.DELETED]


@dataclass(frozen=True)
class VMFilters:
    status: str = ""
    cloud_provider: str = ""
    region: str = ""
    cluster: str = ""
    tag_key: str = ""
    tag_value: str = ""
    q: str = ""
    sort: str = DEFAULT_SORT

    @property
    def active(self) -> bool:
        return any((self.status, self.cloud_provider, self.region, self.cluster, self.tag_key, self.q))


# A pasted VM id ("vm-" and its hex, as the contract names them) or IP address is looked up exactly,
# on the (partner, vm_id) and (partner, ip_address) indexes; anything else searches names.
_VM_ID = re.compile(r"vm-[0-9a-z]{1,60}", re.IGNORECASE)


class _Unindexed(Func):
    """`+column`: SQLite's no-op unary plus, which keeps its planner from using an index for the term."""

    template = "+%(expressions)s"
    output_field = CharField()


def _filtered(
    partner: Partner, filters: VMFilters, *, with_status: bool = True, unindexed: frozenset[str] = frozenset()
) -> QuerySet[VM]:
    vms = VM.objects.filter(partner=partner)
    for column, value in (
        ("status", filters.status if with_status else ""),
        ("cloud_provider", filters.cloud_provider),
        ("region", filters.region),
        ("cluster", filters.cluster),
    ):
        if value and column in unindexed:
            vms = vms.alias(**{f"{column}_unindexed": _Unindexed(F(column))}).filter(
                **{f"{column}_unindexed": value}
            )
        elif value:
            vms = vms.filter(**{column: value})
    if filters.q:
        vms = _searched(vms, filters.q)
    if filters.tag_key:
        vms = _with_tag(vms, filters.tag_key, filters.tag_value)
    return vms


def _searched(vms: QuerySet[VM], q: str) -> QuerySet[VM]:
    try:
        address = ipaddress.ip_address(q)
    except ValueError:
        pass
    else:
        return vms.filter(ip_address__in=sorted({q, str(address)}))
    if _VM_ID.fullmatch(q):
        # Both exact, so both are index lookups: the VM with this id, or one named exactly so.
        return vms.alias(lower_name=Lower("name")).filter(Q(vm_id=q) | Q(lower_name=q.lower()))
    return vms.filter(name__icontains=q)


def _with_tag(vms: QuerySet[VM], key: str, value: str) -> QuerySet[VM]:
    # PostgreSQL answers containment from a GIN index; elsewhere the key's text is compared. The key
    # goes through KeyTextTransform, never into a lookup string, so "a__b" stays one literal key.
    if connection.vendor == "postgresql":
        return vms.filter(tags__contains={key: value})
    return vms.filter(Exact(KeyTextTransform(key, "tags"), Value(value)))


@dataclass(frozen=True)
class Sort:
    """One of the list's orders: a column, its direction, and the row id as the tie-breaker."""

    key: str  # the list's sort name without its sign ("cpu")
    column: str
    descending: bool

    @property
    def expression(self) -> Lower | F:
        # Names sort as people read them (case-insensitive), on the (partner, lower(name), id) index.
        return Lower(self.column) if self.column == "name" else F(self.column)

    def order_by(self, *, reverse: bool = False) -> list[OrderBy]:
        # The row id breaks ties: unique, stable, and the last column of every sort index, so a walk
        # of the index in (key, id) order needs no sort at all.
        descending = self.descending != reverse
        key, pk = self.expression, F("pk")
        return [key.desc(), pk.desc()] if descending else [key.asc(), pk.asc()]


def sort_of(filters: VMFilters) -> Sort:
    key = filters.sort.lstrip("-")
    if key not in SORTS:
        key, descending = DEFAULT_SORT, False
    else:
        descending = filters.sort.startswith("-")
    return Sort(key=key, column=SORTS[key], descending=descending)


# SQLite plans a filtered, sorted page as if it needed every matching row: with `status=running` it
# takes the status index and sorts the 50,000 matches to return 25, where walking the sort's own index
# and skipping the rows that do not match stops after a few dozen. Past this many matches (the status
# counts know how many) the filter's terms are kept off its indexes, so the sort's index is walked
# (at most per_page * fleet / matches rows); below it, sorting the few matches is the cheap way.
# A filter on the sort's own column stays on the index (it leads the sort's index: vm_sort_status for
# status, and by region within a cloud, vm_sort_cloud_region). PostgreSQL weighs the LIMIT itself and
# is left to choose.
WALK_SORT_INDEX_FROM = 2_000
_FILTERS_ON_THE_SORT_INDEX = {"status": {"status"}, "region": {"region", "cloud_provider"}}


def vm_list(*, partner: Partner, filters: VMFilters, matching: int | None = None) -> QuerySet[VM]:
    """The partner's VMs, filtered and sorted; only the columns the list shows.

    `matching`: how many VMs match, when the caller knows (see WALK_SORT_INDEX_FROM)."""
    sort = sort_of(filters)
    unindexed: frozenset[str] = frozenset()
    if connection.vendor == "sqlite" and matching is not None and matching >= WALK_SORT_INDEX_FROM:
        kept = _FILTERS_ON_THE_SORT_INDEX.get(sort.column, set())
        unindexed = frozenset({"status", "cloud_provider", "region", "cluster"} - kept)
    return _filtered(partner, filters, unindexed=unindexed).only(*VM_LIST_COLUMNS).order_by(*sort.order_by())


def vm_status_counts(*, partner: Partner, filters: VMFilters) -> dict[str, int]:
    """How many VMs per status match every filter but the status one: one grouped query, kept until
    the fleet next changes (`vms.fleet_version`), so a page of a quiet fleet does not rescan it."""

    def count() -> dict[str, int]:
        rows = (
            _filtered(partner, filters, with_status=False)
            .order_by()
            .values_list("status")
            # COUNT(*), not COUNT(id): nothing to read per row but the index entry (measurably faster).
            .annotate(count=Count("*"))
        )
        counts = dict.fromkeys(STATUS_ORDER, 0)
        counts.update(dict(rows))
        return counts

    key = "status-counts:" + "&".join(
        f"{name}={value}"
        for name, value in (
            ("cloud", filters.cloud_provider),
            ("region", filters.region),
            ("cluster", filters.cluster),
            ("q", filters.q),
            ("tag", f"{filters.tag_key}:{filters.tag_value}" if filters.tag_key else ""),
        )
    )
    return dict(fleet_figure(partner_pk=partner.pk, name=key, compute=count))


@dataclass
class FilterChoices:
    clouds: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)


def cluster_list(*, partner: Partner) -> list[Cluster]:
    """The partner's synced clusters (a handful of rows), by cloud, region and name."""
    return list(Cluster.objects.filter(partner=partner).order_by("cloud_provider", "region", "name"))


def networks_by_region(*, partner: Partner) -> dict[str, list[str]]:
    """The network ids the partner's VMs use, per region: what the create form offers.

    NovaCron lists no networks of its own (the contract has no such call); the ones in use are the
    ones known to exist.
    """
    pairs = (
        VM.objects.filter(partner=partner)
        .exclude(network_id="")
        .order_by("region", "network_id")
        .values_list("region", "network_id")
        .distinct()
    )
    networks: dict[str, list[str]] = {}
    for region, network in pairs:
        networks.setdefault(region, []).append(network)
    return networks


def cluster_get(*, partner: Partner, cluster_id: str) -> Cluster | None:
    return Cluster.objects.filter(partner=partner, cluster_id=cluster_id).first()


def filter_choices(*, partner: Partner) -> FilterChoices:
    """Clouds, regions and clusters to offer, from the synced clusters (a handful of rows)."""
    clusters = cluster_list(partner=partner)
    return FilterChoices(
        clouds=sorted({cluster.cloud_provider for cluster in clusters}),
        regions=sorted({cluster.region for cluster in clusters}),
        clusters=clusters,
    )


@dataclass(frozen=True)
class DataAge:
    """How old the cached inventory is: the last successful VM sync."""

    synced_at: datetime | None

    @property
    def seconds(self) -> float | None:
        return None if self.synced_at is None else (timezone.now() - self.synced_at).total_seconds()

    @property
    def stale(self) -> bool:
        return self.seconds is None or self.seconds > settings.SYNC_STALE_AFTER_SECONDS


def data_age(*, partner: Partner) -> DataAge:
    finished = (
        SyncRun.objects.filter(
            partner=partner,
            kind__in=[SyncRun.Kind.VMS_INCREMENTAL, SyncRun.Kind.VMS_FULL],
            status=SyncRun.Status.SUCCEEDED,
        )
        .order_by("-started_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return DataAge(synced_at=finished)


def last_vm_sync_by_partner() -> dict[int, datetime]:
    """When each partner's last successful VM sync finished (by partner pk; absent: never)."""
    rows = (
        SyncRun.objects.filter(
            kind__in=[SyncRun.Kind.VMS_INCREMENTAL, SyncRun.Kind.VMS_FULL],
            status=SyncRun.Status.SUCCEEDED,
            finished_at__isnull=False,
        )
        .values("partner_id")
        .annotate(last=Max("finished_at"))
    )
    return {row["partner_id"]: row["last"] for row in rows}


def vm_migrations(*, partner: Partner, vm_id: str, limit: int = 10) -> list[Migration]:
    return list(Migration.objects.filter(partner=partner, source_vm_id=vm_id).order_by("-created_at")[:limit])


def active_migrations(*, partner: Partner) -> list[Migration]:
    return list(
        Migration.objects.filter(partner=partner)
        .exclude(status__in=Migration.FINISHED)
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class Breakdown:
    """VM counts for the overview, each key linking to the filtered list."""

    by_status: list[tuple[str, int]]
    by_cloud: list[tuple[str, int]]
    by_region: list[tuple[str, int]]
    total: int


def vm_breakdown(*, partner: Partner) -> Breakdown:
    vms = VM.objects.filter(partner=partner).order_by()

    def grouped(column: str) -> list[tuple[str, int]]:
        rows = vms.values_list(column).annotate(count=Count("id")).order_by("-count", column)
        return [(value, count) for value, count in rows]

    by_status = grouped("status")
    return Breakdown(
        by_status=by_status,
        by_cloud=grouped("cloud_provider"),
        by_region=grouped("region"),
        total=sum(count for _, count in by_status),
    )


def quotas(*, partner: Partner) -> list[Quota]:
    return list(Quota.objects.filter(partner=partner).order_by("name"))


def quota_get(*, partner: Partner, name: str) -> Quota | None:
    return Quota.objects.filter(partner=partner, name=name).first()
