"""Inventory pages: overview, VM list, detail with charts and actions, create. Thin adapters.

Lists read the local cache only. Detail, actions, charts and create call NovaCron with the person's own
token (`request.novacron`); a page that can show cached data catches NovaCron errors itself and says
how old its data is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import novacron
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails
from novacron.errors import (
    InsufficientScopeError,
    NovaCronError,
    QuotaExceededError,
    UnauthorizedError,
    ValidationError,
)
from novacron.models import MetricsQuery

from accounts.decorators import partner_required
from lib.http_errors import organisation_object_or_404
from partners.models import Partner
from vms import metrics, selectors, services
from vms.actions import create_refusal, vm_action, vm_actions
from vms.forms import PAGE_SIZES, VMCreateForm, VMFilterForm
from vms.models import VM, Cluster
from vms.quota_gauges import quota_gauges_context


class PortalRequest(HttpRequest):
    """What the middleware and `partner_required` add to every request these views get."""

    htmx: HtmxDetails
    partner: Partner
    novacron: novacron.Client


MIGRATION_PANEL = "vms/migrations/_panel.html"
METRICS_CACHE_SECONDS = 30
# Errors the middleware handles for every page (sign in again, grant a scope); never swallowed here.
_PASS_THROUGH = (UnauthorizedError, InsufficientScopeError)


def _migration_panel() -> str | None:
    """The live migration panel's template, once the migration UI provides it."""
    try:
        get_template(MIGRATION_PANEL)
    except TemplateDoesNotExist:
        return None
    return MIGRATION_PANEL


def _api_failure(error: NovaCronError) -> str:
    return error.message if error.status and error.status < 500 else "NovaCron is unreachable right now."


# --- overview ------------------------------------------------------------------------------------


@require_GET
@partner_required
def overview(request: PortalRequest) -> HttpResponse:
    partner = request.partner
    breakdown = selectors.vm_breakdown(partner=partner)
    context = {
        **quota_gauges_context(partner=partner),
        "breakdown": breakdown,
        "breakdown_tables": [
            ("By status", breakdown.by_status, "status"),
            ("By cloud", breakdown.by_cloud, "cloud_provider"),
            ("By region", breakdown.by_region, "region"),
        ],
        "active_migrations": selectors.active_migrations(partner=partner),
        "migration_panel": _migration_panel(),
        "age": selectors.data_age(partner=partner),
    }
    return render(request, "vms/overview.html", context)


# --- list ----------------------------------------------------------------------------------------


@require_GET
@partner_required
def vm_list(request: PortalRequest) -> HttpResponse:
    partner = request.partner
    choices = selectors.filter_choices(partner=partner)
    form = VMFilterForm(request.GET, choices=choices)
    filters = form.filters()
    counts = selectors.vm_status_counts(partner=partner, filters=filters)
    rows = selectors.DeferredRows(selectors.vm_list(partner=partner, filters=filters))
    paginator = Paginator(rows, form.page_size())
    # The grouped status counts already hold the total: no second COUNT over the same rows.
    paginator.count = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "counts": counts,
        "age": selectors.data_age(partner=partner),
        "page_size_choices": [(size, size) for size in PAGE_SIZES],
        "total": sum(counts.values()),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, "vms/list.html#results" if partial else "vms/list.html", context)
    if partial:
        # The form sends every field; the address bar gets only the ones that mean something.
        response["HX-Push-Url"] = _bookmark(request)
    patch_vary_headers(response, ["HX-Request"])
    return response


_DEFAULTS = {"sort": "name", "per_page": "25", "page": "1"}


def _bookmark(request: PortalRequest) -> str:
    query = [
        (key, value)
        for key, values in request.GET.lists()
        for value in values
        if value.strip() and _DEFAULTS.get(key) != value
    ]
    return request.path + ("?" + urlencode(query) if query else "")


# --- detail and actions --------------------------------------------------------------------------


@require_GET
@partner_required
def vm_detail(request: PortalRequest, vm_id: str) -> HttpResponse:
    partner = request.partner
    vm = organisation_object_or_404(VM, "VM", partner=partner, vm_id=vm_id)
    unreachable = ""
    try:
        fresh = services.vm_refresh(partner=partner, client=request.novacron, vm_id=vm_id)
    except _PASS_THROUGH:
        raise
    except NovaCronError as error:
        unreachable = _api_failure(error)
    else:
        if fresh is None:
            messages.info(request, f"{vm.name} no longer exists at NovaCron.")
            return redirect("vms:list")
        vm = fresh
    context = {
        "vm": vm,
        "unreachable": unreachable,
        "cached_age": services.vm_stored_age_seconds(vm),
        "actions": vm_actions(request.user, vm),
        "cluster": Cluster.objects.filter(partner=partner, cluster_id=vm.cluster).first(),
        "migrations": selectors.vm_migrations(partner=partner, vm_id=vm_id),
        "migration_panel": _migration_panel(),
        # NovaCron migrates only a running or stopped VM (409 otherwise).
        "migratable": (VM.Status.RUNNING, VM.Status.STOPPED),
        "ranges": metrics.RANGES.values(),
        "chart_titles": [(chart["key"], chart["title"]) for chart in metrics.CHARTS],
        "default_range": metrics.DEFAULT_RANGE,
    }
    return render(request, "vms/detail.html", context)


def _act(request: PortalRequest, vm_id: str, action: str) -> HttpResponse:
    partner = request.partner
    vm = organisation_object_or_404(VM, "VM", partner=partner, vm_id=vm_id)
    check = vm_action(request.user, vm, action)
    if not check.allowed:
        messages.error(request, check.reason)
        return redirect("vms:detail", vm_id=vm_id)
    service = {"start": services.vm_start, "stop": services.vm_stop, "delete": services.vm_delete}[action]
    try:
        service(partner=partner, client=request.novacron, vm_id=vm_id)
    except _PASS_THROUGH:
        raise
    except NovaCronError as error:
        messages.error(request, f"Could not {action} {vm.name}: {_api_failure(error)}")
        return redirect("vms:detail", vm_id=vm_id)
    if action == "delete":
        messages.success(request, f"{vm.name} is being deleted.")
        return redirect("vms:list")
    messages.success(request, f"{vm.name}: {action} requested.")
    return redirect("vms:detail", vm_id=vm_id)


@require_POST
@partner_required
def vm_start(request: PortalRequest, vm_id: str) -> HttpResponse:
    return _act(request, vm_id, "start")


@require_POST
@partner_required
def vm_stop(request: PortalRequest, vm_id: str) -> HttpResponse:
    return _act(request, vm_id, "stop")


@require_http_methods(["GET", "POST"])
@partner_required
def vm_delete(request: PortalRequest, vm_id: str) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    if request.method == "POST":
        return _act(request, vm_id, "delete")
    vm = organisation_object_or_404(VM, "VM", partner=request.partner, vm_id=vm_id)
    return render(request, "vms/confirm_delete.html", {"vm": vm, "action": vm_action(request.user, vm, "delete")})


# --- metrics -------------------------------------------------------------------------------------


@require_GET
@partner_required
def vm_metrics(request: PortalRequest, vm_id: str) -> JsonResponse:
    partner = request.partner
    organisation_object_or_404(VM, "VM", partner=partner, vm_id=vm_id)
    range_key = request.GET.get("range", metrics.DEFAULT_RANGE)
    aggregate = request.GET.get("aggregate", metrics.DEFAULT_AGGREGATE)
    if range_key not in metrics.RANGES or aggregate not in metrics.AGGREGATES:
        return JsonResponse({"error": "Unknown range or aggregate."}, status=400)
    key = f"vms:metrics:{partner.pk}:{vm_id}:{range_key}:{aggregate}"
    data = cache.get(key)
    if data is None:
        start, end = metrics.window(range_key)
        query = MetricsQuery(
            resource_id=vm_id, metrics=metrics.METRICS, start_time=start, end_time=end,
            interval=metrics.RANGES[range_key].interval, aggregate=aggregate,
        )
        try:
            result = request.novacron.get_metrics(query)
        except UnauthorizedError:
            raise
        except InsufficientScopeError:
            return JsonResponse({"error": "The portal needs permission to read metrics."}, status=403)
        except NovaCronError as error:
            return JsonResponse({"error": f"Metrics are unavailable: {_api_failure(error)}"}, status=502)
        data = metrics.chart_data(result, range_key=range_key, aggregate=aggregate)
        cache.set(key, data, METRICS_CACHE_SECONDS)
    return JsonResponse(data)


# --- create --------------------------------------------------------------------------------------


def _next_utc_midnight() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def _create_quota(request: PortalRequest) -> dict[str, Any]:
    """NovaCron's answer to "may we create one more VM?", with when the daily quota resets."""
    partner = request.partner
    cached = selectors.quota_get(partner=partner, name="vm_create_per_day")
    reset_at = cached.reset_at if cached and cached.reset_at else _next_utc_midnight()
    try:
        check = request.novacron.check_quota("vm-create", 1)
    except _PASS_THROUGH:
        raise
    except NovaCronError as error:
        return {"known": False, "allowed": True, "error": _api_failure(error), "reset_at": reset_at}
    return {
        "known": True, "allowed": check.allowed, "limit": check.limit, "used": check.used,
        "remaining": check.remaining, "reset_at": reset_at,
    }


def _quota_refused(error: QuotaExceededError, quota: dict[str, Any]) -> dict[str, Any]:
    reset = error.details.get("reset_at")
    return {
        **quota, "known": True, "allowed": False, "limit": error.limit, "used": error.used,
        "reset_at": datetime.fromisoformat(reset.replace("Z", "+00:00")) if isinstance(reset, str) else quota["reset_at"],
    }


@require_http_methods(["GET", "POST"])
@partner_required
def vm_create(request: PortalRequest) -> HttpResponse:
    partner = request.partner
    clusters = list(Cluster.objects.filter(partner=partner).order_by("cloud_provider", "region", "name"))
    form = VMCreateForm(request.POST or None, clusters=clusters)
    refusal, needs_grant = create_refusal(request.user)
    quota = None if refusal else _create_quota(request)
    if request.method == "POST" and not refusal and quota and quota["allowed"] and form.is_valid():
        try:
            vm = services.vm_create(partner=partner, client=request.novacron, spec=form.spec())
        except _PASS_THROUGH:
            raise
        except ValidationError as error:
            form.add_api_errors(error.fields, error.message)
        except QuotaExceededError as error:
            quota = _quota_refused(error, quota)
        except NovaCronError as error:
            form.add_error(None, f"NovaCron refused the VM: {_api_failure(error)}")
        else:
            name = vm.name if vm else form.cleaned_data["name"]
            messages.success(request, f"{name} is being created.")
            return redirect("vms:detail", vm_id=vm.vm_id) if vm else redirect("vms:list")
    context = {"form": form, "refusal": refusal, "needs_grant": needs_grant, "quota": quota, "has_clusters": bool(clusters)}
    return render(request, "vms/create.html", context)
