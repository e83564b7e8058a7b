"""Reads of the inventory cache, always scoped to one partner."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from partners.models import Partner, Quota
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


def _filtered(partner: Partner, filters: VMFilters, *, with_status: bool = True) -> QuerySet[VM]:
    vms = VM.objects.filter(partner=partner)
    if with_status and filters.status:
        vms = vms.filter(status=filters.status)
    if filters.cloud_provider:
        vms = vms.filter(cloud_provider=filters.cloud_provider)
    if filters.region:
        vms = vms.filter(region=filters.region)
    if filters.cluster:
        vms = vms.filter(cluster=filters.cluster)
    if filters.q:
        vms = vms.filter(name__icontains=filters.q)
    if filters.tag_key:
        vms = _with_tag(vms, filters.tag_key, filters.tag_value)
    return vms


def _with_tag(vms: QuerySet[VM], key: str, value: str) -> QuerySet[VM]:
    # PostgreSQL answers containment from a GIN index; elsewhere the key's text is compared. The key
    # goes through KeyTextTransform, never into a lookup string, so "a__b" stays one literal key.
    if connection.vendor == "postgresql":
        return vms.filter(tags__contains={key: value})
    return vms.filter(Exact(KeyTextTransform(key, "tags"), Value(value)))


def vm_list(*, partner: Partner, filters: VMFilters) -> QuerySet[VM]:
    """The partner's VMs, filtered and sorted; only the columns the list shows."""
    descending = filters.sort.startswith("-")
    column = SORTS.get(filters.sort.lstrip("-"), SORTS[DEFAULT_SORT])
    # Names sort as people read them (case-insensitive), on the (partner, lower(name)) index.
    key = Lower(column) if column == "name" else F(column)
    # The row id breaks ties: unique, stable, and the last column of every index, so an index walk
    # in (created_at, id) order needs no sort at all.
    order = [key.desc(), F("pk").desc()] if descending else [key.asc(), F("pk").asc()]
    return _filtered(partner, filters).only(*VM_LIST_COLUMNS).order_by(*order)


class DeferredRows:
    """A sliceable stand-in for the list query: sorts ids only, then loads just the page's rows.

    In one query, the database sorts the filtered ids (narrow records) in a subquery and reads the
    full rows of the one page shown by primary key, instead of sorting every matching row with all
    its columns. The paginator only ever slices it (its count comes from the status counts).
    """

    def __init__(self, vms: QuerySet[VM]) -> None:
        self._vms = vms

    def __getitem__(self, window: slice) -> list[VM]:
        page_ids = self._vms.values("pk")[window]
        rows = VM.objects.only(*VM_LIST_COLUMNS).filter(pk__in=Subquery(page_ids))
        return list(rows.order_by(*self._vms.query.order_by))

    def __len__(self) -> int:  # pragma: no cover - the view sets the paginator's count itself
        return self._vms.count()


def vm_status_counts(*, partner: Partner, filters: VMFilters) -> dict[str, int]:
    """How many VMs per status match every filter but the status one: one grouped query."""
    rows = (
        _filtered(partner, filters, with_status=False)
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    counts = dict.fromkeys(STATUS_ORDER, 0)
    counts.update(dict(rows))
    return counts


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
