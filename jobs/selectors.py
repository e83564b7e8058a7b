"""Reads of jobs, always scoped to one partner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from jobs.models import Job, JobItem
from partners.models import Partner
from vms.models import VM

RECENT_ITEMS = 10


def job_list(*, partner: Partner) -> QuerySet[Job]:
    """The partner's jobs newest first, each with its item counts (`n_<status>`, `n_total`) in the
    same query."""
    counts = {
        f"n_{status}": Count("items", filter=Q(items__status=status)) for status in JobItem.Status.values
    }
    return (
        Job.objects.filter(partner=partner)
        .annotate(n_total=Count("items"), **counts)
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    running: int
    done: int
    failed: int
    skipped: int
    first_started: datetime | None
    last_finished: datetime | None

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 100

    @property
    def acted(self) -> int:
        """Items that made their request (skipped at creation never do)."""
        return self.done + self.failed

    def throughput_per_minute(self, now: datetime | None = None) -> float | None:
        if not self.first_started or not self.acted:
            return None
        end = self.last_finished if not (self.pending or self.running) else (now or timezone.now())
        seconds = max((end - self.first_started).total_seconds(), 1.0) if end else 1.0
        return 60.0 * self.acted / seconds

    def eta_seconds(self, now: datetime | None = None) -> float | None:
        rate = self.throughput_per_minute(now)
        left = self.pending + self.running
        if not left:
            return 0.0
        if not rate:
            return None
        return 60.0 * left / rate


def job_progress(*, job: Job) -> Progress:
    """The job's counts per status in one grouped query, and when it started and last settled one."""
    rows = JobItem.objects.filter(job=job).values("status").annotate(n=Count("pk")).order_by()
    counts = {row["status"]: row["n"] for row in rows}
    times = JobItem.objects.filter(job=job).aggregate(first=Min("started_at"), last=Max("finished_at"))
    return Progress(
        total=sum(counts.values()),
        pending=counts.get(JobItem.Status.PENDING, 0),
        running=counts.get(JobItem.Status.RUNNING, 0),
        done=counts.get(JobItem.Status.DONE, 0),
        failed=counts.get(JobItem.Status.FAILED, 0),
        skipped=counts.get(JobItem.Status.SKIPPED, 0),
        first_started=times["first"],
        last_finished=times["last"],
    )


def job_recent_items(*, job: Job) -> list[JobItem]:
    """The items settled last (the job page's "recent items")."""
    return list(
        JobItem.objects.filter(job=job, finished_at__isnull=False, started_at__isnull=False).order_by(
            "-finished_at", "-pk"
        )[:RECENT_ITEMS]
    )


def job_items(*, job: Job, status: str = "") -> QuerySet[JobItem]:
    items = JobItem.objects.filter(job=job)
    if status:
        items = items.filter(status=status)
    return items.order_by("position", "pk")


def job_for_form_key(*, partner: Partner, form_key: str) -> Job | None:
    """The job a form already made (the first of a double submit), if any."""
    return Job.objects.filter(partner=partner, form_key=form_key).first() if form_key else None


EVACUEE_COLUMNS = (
    "vm_id",
    "name",
    "status",
    "cloud_provider",
    "cluster",
    "cpu_cores",
    "memory_gb",
    "disk_size_gb",
)


def vms_on_cluster(*, partner: Partner, cluster_id: str, limit: int) -> list[VM]:
    """The partner's VMs on a cluster (at most `limit`), by name: what an evacuation moves."""
    vms = VM.objects.filter(partner=partner, cluster=cluster_id).exclude(status=VM.Status.DELETED)
    return list(vms.only(*EVACUEE_COLUMNS).order_by("name", "pk")[:limit])


def vm_counts_by_cluster(*, partner: Partner) -> dict[str, int]:
    """How many of the partner's VMs each cluster holds: one grouped query."""
    rows = (
        VM.objects.filter(partner=partner)
        .exclude(status=VM.Status.DELETED)
        .order_by()
        .values_list("cluster")
        .annotate(count=Count("*"))
    )
    return dict(rows)
