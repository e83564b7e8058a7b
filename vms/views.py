"""Inventory pages: overview, VM list, detail with charts and actions, create. Thin adapters.

Lists read the local cache only. Detail, actions, charts and create call NovaCron with the person's own
token (`request.novacron`); a page that can show cached data catches NovaCron errors itself and says
how old its data is.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from novacron.errors import (
    InsufficientScopeError,
    NovaCronError,
    QuotaExceededError,
    UnauthorizedError,
    ValidationError,
)

from accounts import roles
from accounts.decorators import partner_required
from accounts.http import PortalRequest
from audit.trail import audited, refuse
from lib.forms import action_idempotency_key, form_outcome, form_outcome_remember
from lib.http_errors import organisation_object_or_404
from vms import metrics, selectors, services
from vms.actions import create_refusal, migration_needs_grant, vm_action, vm_change_refusal
from vms.forms import PAGE_SIZES, VMCreateForm, VMFilterForm
from vms.list_pages import vm_page
from vms.migration_panel import shows_compact_rows
from vms.models import VM
from vms.publishing import fleet_context, vm_card_context
from vms.quota_gauges import quota_gauges_context
from vms.services import api_failure_message

MIGRATION_PANEL = "vms/migrations/_panel.html"
# Errors the middleware handles for every page (sign in again, grant a scope); never swallowed here.
_PASS_THROUGH = (UnauthorizedError, InsufficientScopeError)


# --- overview ------------------------------------------------------------------------------------


@require_GET
@partner_required
def overview(request: PortalRequest) -> HttpResponse:
    partner = request.partner
    active_migrations = selectors.active_migrations(partner=partner)
    context = {
        **quota_gauges_context(partner=partner),
        **fleet_context(partner=partner),  # the counts pushed when a VM changes
        "active_migrations": active_migrations,
        "compact_migrations": shows_compact_rows(len(active_migrations)),
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
    # The grouped status counts already hold the total: no second COUNT over the same rows.
    count = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    if request.htmx and request.htmx.target == "vm-list-live":
        # A pushed change re-reads this filter's counts (no rows); the page says how its list differs now.
        changed = _list_change(request.headers.get("X-Shown-Count"), count)
        context = {"filters": filters, "counts": counts, "total": sum(counts.values()), "changed": changed}
        return render(request, "vms/list.html#live_counts", {**context, "oob": True})
    page = vm_page(
        selectors.vm_list(partner=partner, filters=filters, matching=count),
        filters=filters,
        count=count,
        per_page=form.page_size(),
        page=request.GET.get("page"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
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


def _list_change(shown: str | None, now: int) -> str:
    """ "3 more VMs match these filters …", or "" when the count a page shows is still right."""
    try:
        delta = now - int(shown or "")
    except ValueError:
        return ""
    if not delta:
        return ""
    count = abs(delta)
    vms, match = ("VM", "matches") if count == 1 else ("VMs", "match")
    return f"{count} {'more' if delta > 0 else 'fewer'} {vms} {match} these filters than when this list was loaded."


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
        unreachable = api_failure_message(error)
    else:
        if fresh is None:
            messages.info(request, f"{vm.name} no longer exists at NovaCron.")
            return redirect("vms:list")
        vm = fresh
    change_refusal, change_needs_grant = vm_change_refusal(request.user)
    context = {
        # The Actions card and the specification are the fragments pushed when the VM changes.
        **vm_card_context(vm, cluster=selectors.cluster_get(partner=partner, cluster_id=vm.cluster)),
        "unreachable": unreachable,
        "cached_age": services.vm_stored_age_seconds(vm),
        "change_refusal": change_refusal,
        "change_needs_grant": change_needs_grant,
        "migrate_needs_grant": migration_needs_grant(request.user),
        "migrations": selectors.vm_migrations(partner=partner, vm_id=vm_id),
        "migration_panel": MIGRATION_PANEL,
        "ranges": metrics.RANGES.values(),
        "chart_titles": [(chart["key"], chart["title"]) for chart in metrics.CHARTS],
        "default_range": metrics.DEFAULT_RANGE,
        "default_aggregate": metrics.DEFAULT_AGGREGATE,
        **_chart_choice(request),
    }
    return render(request, "vms/detail.html", context)


def _chart_choice(request: PortalRequest) -> dict[str, str]:
    """The charts' range and aggregate from the URL (`?range=7d&aggregate=max`, bookmarkable); an
    unknown value falls back to the default rather than breaking a bookmark."""
    range_key = request.GET.get("range", metrics.DEFAULT_RANGE)
    aggregate = request.GET.get("aggregate", metrics.DEFAULT_AGGREGATE)
    if not metrics.is_known(range_key, metrics.DEFAULT_AGGREGATE):
        range_key = metrics.DEFAULT_RANGE
    if not metrics.is_known(metrics.DEFAULT_RANGE, aggregate):
        aggregate = metrics.DEFAULT_AGGREGATE
    return {"chart_range": range_key, "chart_aggregate": aggregate}


def _act(request: PortalRequest, vm_id: str, action: str) -> HttpResponse:
    partner = request.partner
    key = action_idempotency_key(request.POST)
    # The second of a double click, after the first was done (a deleted VM is gone from the cache):
    # go where the first went. Only this partner's keys for this very URL are ever remembered.
    may_write = roles.can(request.user, roles.VM_WRITE)
    done = form_outcome(partner_pk=partner.pk, path=request.path, key=key) if key and may_write else None
    if done:
        return redirect(done)
    vm = organisation_object_or_404(VM, "VM", partner=partner, vm_id=vm_id)
    check = vm_action(request.user, vm, action)
    if not check.allowed:
        refuse(request, check.reason, "not_allowed")
        messages.error(request, check.reason)
        return redirect("vms:detail", vm_id=vm_id)
    if key is None:
        messages.error(
            request, f"Nothing was sent to NovaCron: the page was out of date. {vm.name} as it is now:"
        )
        return redirect("vms:detail", vm_id=vm_id)
    service = {"start": services.vm_start, "stop": services.vm_stop, "delete": services.vm_delete}[action]
    try:
        service(partner=partner, client=request.novacron, vm_id=vm_id, idempotency_key=key)
    except _PASS_THROUGH:
        raise
    except NovaCronError as error:
        messages.error(request, f"Could not {action} {vm.name}: {api_failure_message(error)}")
        return redirect("vms:detail", vm_id=vm_id)
    target = reverse("vms:list") if action == "delete" else reverse("vms:detail", args=[vm_id])
    form_outcome_remember(partner_pk=partner.pk, path=request.path, key=key, location=target)
    if action == "delete":
        messages.success(request, f"{vm.name} is being deleted.")
    else:
        messages.success(request, f"{vm.name}: {action} requested.")
    return redirect(target)


@audited("vm.start", object_type="vm", object_id="vm_id", link="vms:detail")
@require_POST
@partner_required
def vm_start(request: PortalRequest, vm_id: str) -> HttpResponse:
    return _act(request, vm_id, "start")


@audited("vm.stop", object_type="vm", object_id="vm_id", link="vms:detail")
@require_POST
@partner_required
def vm_stop(request: PortalRequest, vm_id: str) -> HttpResponse:
    return _act(request, vm_id, "stop")


@audited("vm.delete", object_type="vm", object_id="vm_id", link="vms:detail")
@require_http_methods(["GET", "POST"])
@partner_required
def vm_delete(request: PortalRequest, vm_id: str) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    if request.method == "POST":
        return _act(request, vm_id, "delete")
    vm = organisation_object_or_404(VM, "VM", partner=request.partner, vm_id=vm_id)
    return render(
        request, "vms/confirm_delete.html", {"vm": vm, "action": vm_action(request.user, vm, "delete")}
    )


# --- metrics -------------------------------------------------------------------------------------


@require_GET
@partner_required
def vm_metrics(request: PortalRequest, vm_id: str) -> JsonResponse:
    partner = request.partner
    organisation_object_or_404(VM, "VM", partner=partner, vm_id=vm_id)
    range_key = request.GET.get("range", metrics.DEFAULT_RANGE)
    aggregate = request.GET.get("aggregate", metrics.DEFAULT_AGGREGATE)
    if not metrics.is_known(range_key, aggregate):
        return JsonResponse({"error": "Unknown range or aggregate."}, status=400)
    try:
        data = metrics.vm_charts(
            partner=partner, client=request.novacron, vm_id=vm_id, range_key=range_key, aggregate=aggregate
        )
    except UnauthorizedError:
        raise
    except InsufficientScopeError:
        return JsonResponse({"error": "The portal needs permission to read metrics."}, status=403)
    except NovaCronError as error:
        return JsonResponse({"error": f"Metrics are unavailable: {api_failure_message(error)}"}, status=502)
    return JsonResponse(data)


# --- create --------------------------------------------------------------------------------------


@audited(
    "vm.create",
    object_type="vm",
    object_id="vm_id",
    link="vms:detail",
    parameters=(
        "name",
        "template",
        "cpu_cores",
        "memory_gb",
        "disk_size_gb",
        "cloud_provider",
        "region",
        "cluster",
    ),
)
@require_http_methods(["GET", "POST"])
@partner_required
def vm_create(request: PortalRequest) -> HttpResponse:
    partner = request.partner
    clusters = selectors.cluster_list(partner=partner)
    form = VMCreateForm(
        request.POST or None, clusters=clusters, networks=selectors.networks_by_region(partner=partner)
    )
    refusal, needs_grant = create_refusal(request.user)
    quota = None if refusal else services.vm_create_quota(partner=partner, client=request.novacron)
    if request.method == "POST" and not refusal and quota and quota["allowed"] and form.is_valid():
        try:
            vm = services.vm_create(
                partner=partner,
                client=request.novacron,
                spec=form.spec(),
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except _PASS_THROUGH:
            raise
        except ValidationError as error:
            form.add_api_errors(error.fields, error.message)
            form.renew_idempotency_key()
        except QuotaExceededError as error:
            quota = services.vm_create_quota_refused(error=error, quota=quota)
            form.renew_idempotency_key()
        except NovaCronError as error:
            form.add_error(None, f"NovaCron refused the VM: {api_failure_message(error)}")
            form.renew_idempotency_key()
        else:
            name = vm.name if vm else form.cleaned_data["name"]
            messages.success(request, f"{name} is being created.")
            return redirect("vms:detail", vm_id=vm.vm_id) if vm else redirect("vms:list")
    if request.method == "POST":  # not created: the role, the quota, or the form (NovaCron's refusal is seen)
        refuse(request, refusal or "the form was not valid, or the quota is used up", "invalid")
    context = {
        "form": form,
        "refusal": refusal,
        "needs_grant": needs_grant,
        "quota": quota,
        "has_clusters": bool(clusters),
    }
    return render(request, "vms/create.html", context)
