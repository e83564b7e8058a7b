"""Bulk actions: preview and create a job, its page with live progress, cancel, retry, the list.

Thin adapters: the selection is read from the VM list's own filter form (vms.forms), the rules are
jobs.eligibility and jobs.permissions, the writes jobs.services.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import roles
from accounts.decorators import partner_required
from accounts.http import PortalRequest
from accounts.roles import role_required
from audit.trail import audited, identify, not_a_write, refuse
from jobs import planner, publishing, selectors, services, windows
from jobs.budget import JobsPacer
from jobs.eligibility import preview, verdict
from jobs.evacuation import EVACUATE_MAX_VMS, evacuation_for
from jobs.forms import EvacuationForm, JobForm
from jobs.models import Job, JobItem
from jobs.permissions import job_refusal
from jobs.schedule_forms import ScheduleForm
from lib.forms import action_idempotency_key
from lib.http_errors import organisation_object_or_404
from lib.times import instant_text
from vms import selectors as vm_selectors
from vms.forms import VMFilterForm
from vms.migration_selectors import (
    ConcurrencyQuota,
    migration_active_list,
    migration_concurrency_quota,
)
from vms.models import VM, Cluster

FILTER_FIELDS = ("q", "status", "cloud_provider", "region", "cluster", "tag")


def _selection(request: PortalRequest, form: JobForm) -> tuple[QuerySet[VM], dict[str, str], str]:
    """The VMs selected (a filter of the list, or ids picked on it), the filter, and which it was."""
    partner = request.partner
    data = request.POST if request.method == "POST" else request.GET
    filters = {name: data.get(name, "").strip() for name in FILTER_FIELDS if data.get(name, "").strip()}
    if data.get("selection") != "filter":
        vms = VM.objects.filter(partner=partner, vm_id__in=form.picked()).order_by("name", "pk")
        return vms, {}, "picked"
    filter_form = VMFilterForm(filters, choices=vm_selectors.filter_choices(partner=partner))
    vms = vm_selectors.vm_list(partner=partner, filters=filter_form.filters())
    return vms, filters, "filter"


def _cost(
    request: PortalRequest, kind: str, eligible: int, quota: ConcurrencyQuota | None = None
) -> dict[str, Any]:
    pacer = JobsPacer(partner=request.partner)
    cost: dict[str, Any] = {
        "api_calls": eligible,
        "per_minute": pacer.per_minute,
        "minutes": math.ceil(eligible / pacer.per_minute) if pacer.per_minute and eligible else 0,
    }
    if kind == Job.Kind.MIGRATE:
        quota = quota or migration_concurrency_quota(partner=request.partner)
        cost["migration_limit"] = quota.limit
        cost["migration_free"] = quota.remaining
        cost["waves"] = math.ceil(eligible / quota.limit) if quota.limit and eligible else None
    return cost


@audited(
    "job.create",
    object_type="job",
    link="jobs:detail",
    parameters=(
        "action",
        "selection",
        "target_cluster",
        "migration_type",
        "downtime_window_minutes",
        "verify_after_migration",
        "when",
        "start_at",
        "finish_by",
        "window_start",
        "window_hours",
        "on_late",
        "time_zone",
    ),
)
@require_http_methods(["GET", "POST"])
@partner_required
@role_required(roles.VM_WRITE)
def job_new(request: PortalRequest) -> HttpResponse:
    """GET: what the action would do to the selection (eligible, skipped and why, the cost).
    POST: create the job from a fresh snapshot of the selection, and go to its page; a POST with
    `preview` shows the preview again (a POST, so the form's CSRF token never lands in a URL). The
    job may wait for a maintenance window (jobs/schedule_forms.py) instead of starting at once."""
    partner = request.partner
    clusters = vm_selectors.cluster_list(partner=partner)
    data = request.POST if request.method == "POST" else request.GET
    form = JobForm(data, clusters=list(clusters))
    schedule_form = ScheduleForm(data, time_zone=timezone.get_current_timezone_name())
    valid = form.is_valid()
    kind = form.cleaned_data.get("action", "") if valid else data.get("action", "")
    refusal, needs_grant = job_refusal(request.user, kind) if kind in Job.Kind.values else ("", False)
    vms, filters, selection = _selection(request, form)
    target = form.target() if valid else None
    shown = None
    if valid and not refusal:
        migrating = set(migration_active_list(partner=partner).values_list("source_vm_id", flat=True))
        rows = vms.only("vm_id", "name", "status", "cloud_provider", "cluster").iterator(chunk_size=2000)
        shown = preview(kind, rows, migrating_ids=migrating, target=target)
    migration_plan = None
    if kind == Job.Kind.MIGRATE and shown is not None and target is not None and shown.eligible:
        migration_plan = _plan(request, form, vms, target)
    if shown is not None and shown.eligible and schedule_form.is_valid():
        schedule_form.check_window(_shortest_item(migration_plan))
    if request.method == "POST" and data.get("preview"):
        not_a_write(request)
    elif request.method == "POST" and refusal:
        refuse(request, refusal, "not_allowed")
    elif request.method == "POST" and shown is None:
        refuse(request, "the form is invalid", "invalid")
    if request.method == "POST" and shown is not None and not data.get("preview"):
        if kind == Job.Kind.DELETE and form.cleaned_data.get("confirm", "").strip() != str(shown.eligible):
            form.add_error("confirm", f"Type {shown.eligible} to delete {shown.eligible} VMs.")
            refuse(request, "the count typed did not match", "invalid")
        elif (key := action_idempotency_key(request.POST)) is None:
            form.add_error(None, "This form is out of date: reload the page and try again.")
            refuse(request, "the form was out of date", "invalid")
        elif not shown.eligible:
            form.add_error(None, "No VM of this selection can be acted on: nothing to do.")
            refuse(request, "no VM of the selection can be acted on", "nothing_to_do")
        elif migration_plan is not None and migration_plan.refusal:
            form.add_error(None, migration_plan.refusal)
            refuse(request, "the plan would overcommit the target cluster", "overcommit")
        elif not schedule_form.is_valid():
            refuse(request, "the schedule is invalid", "invalid")
        else:
            job = services.job_create(
                partner=partner,
                user=request.user,
                kind=kind,
                vms=vms.only("vm_id", "name", "status", "cloud_provider", "cluster").iterator(
                    chunk_size=2000
                ),
                filters=filters,
                selection=selection,
                parameters=form.parameters(),
                form_key=key,
                schedule=schedule_form.schedule,
                estimates={e.vm.vm_id: e.seconds for e in migration_plan.estimates}
                if migration_plan
                else None,
            )
            identify(request, job.job_id)
            messages.success(request, f"Job {job.job_id} {_started_text(job)}.")
            return redirect("jobs:detail", job_id=job.job_id)
    context = {
        "form": form,
        "schedule_form": schedule_form,
        "weekday_choices": list(enumerate(windows.WEEKDAYS)),
        "kind": kind,
        "plan": migration_plan,
        "refusal": refusal,
        "needs_grant": needs_grant,
        "preview": shown,
        "cost": _cost(request, kind, shown.eligible) if shown else None,
        "filters": filters,
        "selection": selection,
        "picked": form.picked() if selection == "picked" else [],
        "list_url": "/vms/?" + urlencode(filters) if filters else "/vms/",
        "target": target,
    }
    return render(request, "jobs/new.html", context)


def _shortest_item(plan: planner.Plan | None) -> float:
    """The shortest item's expected seconds: the plan's shortest migration, else a fixed allowance."""
    if plan is not None and plan.estimates:
        return min(estimate.seconds for estimate in plan.estimates)
    return windows.ACTION_ITEM_SECONDS


def _started_text(job: Job) -> str:
    if job.status == Job.Status.SCHEDULED and job.starts_at is not None:
        return f"scheduled: it starts {instant_text(job.starts_at)}"
    return "started"


PLAN_MAX_VMS = 2000


def _plan(request: PortalRequest, form: JobForm, vms: QuerySet[VM], target: Any) -> planner.Plan:
    """The planner's view of migrating the selection's eligible VMs to `target` (at most PLAN_MAX_VMS)."""
    partner = request.partner
    migrating = set(migration_active_list(partner=partner).values_list("source_vm_id", flat=True))
    rows = vms.only(
        "vm_id", "name", "status", "cloud_provider", "cluster", "cpu_cores", "memory_gb", "disk_size_gb"
    )
    eligible = [
        vm
        for vm in rows[:PLAN_MAX_VMS]
        if verdict(Job.Kind.MIGRATE, vm, migrating=vm.vm_id in migrating, target=target).eligible
    ]
    return planner.plan_for(
        partner=partner,
        vms=eligible,
        target=target,
        migration_type=form.cleaned_data.get("migration_type") or "live",
        concurrency=migration_concurrency_quota(partner=partner).limit,
    )


@require_GET
@partner_required
@role_required(roles.MIGRATION_EXECUTE)
def migration_plan(request: PortalRequest) -> HttpResponse:
    """ "Plan a migration": the planner for a selection of the VM list (its filter, or ids picked) and
    a target cluster, with nothing started; the bulk-migrate preview shows the same plan."""
    partner = request.partner
    data = request.GET.copy()
    data["action"] = Job.Kind.MIGRATE
    form = JobForm(data, clusters=list(vm_selectors.cluster_list(partner=partner)))
    shown = None
    vms, filters, selection = _selection(request, form)
    if request.GET.get("target_cluster") and form.is_valid() and (target := form.target()) is not None:
        shown = _plan(request, form, vms, target)
    elif not request.GET.get("target_cluster"):
        form.errors.pop("target_cluster", None)
    context = {
        "form": form,
        "plan": shown,
        "filters": filters,
        "selection": selection,
        "picked": form.picked() if selection == "picked" else [],
        "list_url": "/vms/?" + urlencode(filters) if filters else "/vms/",
        "plan_max": PLAN_MAX_VMS,
    }
    return render(request, "jobs/plan.html", context)


@require_GET
@partner_required
def job_list(request: PortalRequest) -> HttpResponse:
    jobs = selectors.job_list(partner=request.partner)[:100]
    return render(request, "jobs/list.html", {"jobs": jobs})


@require_GET
@partner_required
def job_detail(request: PortalRequest, job_id: str) -> HttpResponse:
    job = organisation_object_or_404(Job, "job", partner=request.partner, job_id=job_id)
    status = request.GET.get("status", "")
    if status not in JobItem.Status.values:
        status = ""
    refusal, needs_grant = job_refusal(request.user, job.kind)
    context = {
        **publishing.progress_context(job),
        "items": selectors.job_items(job=job, status=status)[:200],
        "status_filter": status,
        "statuses": JobItem.Status.values,
        "refusal": refusal,
        "needs_grant": needs_grant,
    }
    return render(request, "jobs/detail.html", context)


@require_GET
@partner_required
def job_progress(request: PortalRequest, job_id: str) -> HttpResponse:
    """The progress card alone: what pages poll while the live stream is down."""
    job = organisation_object_or_404(Job, "job", partner=request.partner, job_id=job_id)
    return render(request, "jobs/_progress.html", publishing.progress_context(job))


def _may_change(request: PortalRequest, job: Job) -> bool:
    refusal, _ = job_refusal(request.user, job.kind)
    if refusal:
        refuse(request, refusal, "not_allowed")
        messages.error(request, refusal)
    return not refusal


@audited(
    "job.cancel", object_type="job", object_id="job_id", link="jobs:detail", parameters=("cancel_migrations",)
)
@require_POST
@partner_required
@role_required(roles.VM_WRITE)
def job_cancel(request: PortalRequest, job_id: str) -> HttpResponse:
    job = organisation_object_or_404(Job, "job", partner=request.partner, job_id=job_id)
    if _may_change(request, job):
        if not job.is_open:
            refuse(request, "the job is no longer running", "not_running")
            messages.info(request, "This job is no longer running.")
        else:
            skipped = services.job_cancel(
                job=job, cancel_migrations=request.POST.get("cancel_migrations") == "1"
            )
            messages.success(request, f"Job cancelled: {skipped} pending items skipped.")
    return redirect("jobs:detail", job_id=job.job_id)


@audited("job.retry", object_type="job", object_id="job_id", link="jobs:detail")
@require_POST
@partner_required
@role_required(roles.VM_WRITE)
def job_retry(request: PortalRequest, job_id: str) -> HttpResponse:
    job = organisation_object_or_404(Job, "job", partner=request.partner, job_id=job_id)
    if _may_change(request, job):
        retried = services.job_retry(job=job)
        if not retried:
            refuse(request, "no failed items to retry", "nothing_to_retry")
        messages.success(
            request, f"{retried} failed items queued again." if retried else "No failed items to retry."
        )
    return redirect("jobs:detail", job_id=job.job_id)


# --- evacuate a cluster ---------------------------------------------------------------------------


@require_GET
@partner_required
@role_required(roles.MIGRATION_EXECUTE)
def evacuate_choose(request: PortalRequest) -> HttpResponse:
    """ "Evacuate a cluster": the partner's clusters, how many of its VMs each holds, and where
    their VMs could go (the other active clusters of the same cloud and region)."""
    partner = request.partner
    clusters = vm_selectors.cluster_list(partner=partner)
    counts = selectors.vm_counts_by_cluster(partner=partner)
    rows = [
        {
            "cluster": cluster,
            "vms": counts.get(cluster.cluster_id, 0),
            "targets": [
                other
                for other in clusters
                if other.cluster_id != cluster.cluster_id
                and other.status == "active"
                and (other.cloud_provider, other.region) == (cluster.cloud_provider, cluster.region)
            ],
        }
        for cluster in clusters
    ]
    return render(request, "jobs/evacuate_choose.html", {"rows": rows})


@audited(
    "job.evacuate",
    object_type="job",
    link="jobs:detail",
    parameters=("migration_type", "verify_after_migration", "downtime_window_minutes"),
)
@require_http_methods(["GET", "POST"])
@partner_required
def evacuate(request: PortalRequest, cluster_id: str) -> HttpResponse:
    """GET: the plan of moving every one of the partner's VMs off the cluster. POST with `replan`:
    the plan again with the person's edits (each VM's target, or left out). POST: the plan made
    afresh from the cache and, unless it is refused, one migrate job whose items carry their own
    target cluster (the bulk jobs' engine runs it within `migration_concurrent`)."""
    partner = request.partner
    # The cluster first, then the role (as for a single VM's migration): another partner's cluster is
    # the same 404 to everyone.
    source = organisation_object_or_404(Cluster, "cluster", partner=partner, cluster_id=cluster_id)
    if not roles.can(request.user, roles.MIGRATION_EXECUTE):
        reason = roles.refusal_reason(request.user, roles.MIGRATION_EXECUTE)
        forbidden = {"action": roles.MIGRATION_EXECUTE, "reason": reason}
        return render(request, "roles/forbidden.html", forbidden, status=403)
    refusal, needs_grant = job_refusal(request.user, Job.Kind.MIGRATE)
    form = EvacuationForm(request.POST if request.method == "POST" else None)
    valid = form.is_valid() if form.is_bound else False
    writing = request.method == "POST" and not request.POST.get("replan")
    if writing and valid and not refusal:
        done = selectors.job_for_form_key(partner=partner, form_key=form.cleaned_data["idempotency_key"])
        if done is not None:  # the second click of a double click: the first one's job
            identify(request, done.job_id)
            return redirect("jobs:detail", job_id=done.job_id)
    vms = selectors.vms_on_cluster(partner=partner, cluster_id=source.cluster_id, limit=EVACUATE_MAX_VMS + 1)
    quota = migration_concurrency_quota(partner=partner)
    shown = evacuation_for(
        partner=partner,
        source=source,
        vms=vms,
        choices=form.choices(),
        migration_type=form.migration_type_value(),
        concurrency=quota.limit,
    )
    if request.method == "POST" and not writing:
        not_a_write(request)
    elif writing and refusal:
        refuse(request, refusal, "not_allowed")
    elif writing and not valid:
        refuse(request, "the form was out of date or invalid", "invalid")
    elif writing and not shown.moving:
        form.add_error(None, "No VM of this cluster can be moved: nothing to do.")
        refuse(request, "no VM of the cluster can be moved", "nothing_to_do")
    elif writing and shown.refusal:
        form.add_error(None, shown.refusal)
        refuse(request, "the plan would overcommit a target cluster", "overcommit")
    elif writing:
        job = services.job_create(
            partner=partner,
            user=request.user,
            kind=Job.Kind.MIGRATE,
            vms=vms,
            filters={"cluster": source.cluster_id},
            selection="filter",
            parameters=form.parameters(source_cluster=source.cluster_id),
            form_key=form.cleaned_data["idempotency_key"],
            targets=shown.targets,
            skips=shown.skips,
        )
        identify(request, job.job_id)
        messages.success(request, f"Evacuation of {source.name} started as job {job.job_id}.")
        return redirect("jobs:detail", job_id=job.job_id)
    context = {
        "form": form,
        "source": source,
        "evacuation": shown,
        "refusal": refusal,
        "needs_grant": needs_grant,
        "cost": _cost(request, Job.Kind.MIGRATE, len(shown.moving), quota),
    }
    return render(request, "jobs/evacuate.html", context)
