"""Migration pages: start one from a VM, the live progress panel, cancel, and the migrations page."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from novacron.errors import ConflictError, InsufficientScopeError, NovaCronError, QuotaExceededError

from accounts import roles
from accounts.decorators import partner_required
from accounts.http import PortalRequest
from accounts.roles import MIGRATION_EXECUTE, role_required
from audit.trail import audited, refuse
from lib.forms import action_idempotency_key, form_outcome, form_outcome_remember
from lib.http_errors import organisation_object_or_404
from vms.actions import migration_start_refusal
from vms.migration_forms import MigrationStartForm
from vms.migration_panel import build_panel, shows_compact_rows
from vms.migration_selectors import (
    migration_active_list,
    migration_concurrency_quota,
    migration_history,
    migration_target_clusters,
)
from vms.migration_services import migration_cancel as cancel_service
from vms.migration_services import migration_start as start_service
from vms.models import VM, Migration

HISTORY_PAGE_SIZE = 20
PANEL_TEMPLATE = "vms/migrations/_panel.html"
ROW_TEMPLATE = "vms/migrations/_row.html"


def _fragment_template(display: str) -> str:
    """The panel, or the compact row (`display=row`) a page with many active migrations shows."""
    return ROW_TEMPLATE if display == "row" else PANEL_TEMPLATE


def _start_context(request: PortalRequest, vm: VM, form: MigrationStartForm) -> dict[str, Any]:
    quota = migration_concurrency_quota(partner=request.partner)
    has_target = bool(cast(forms.ChoiceField, form.fields["target_cluster"]).choices)
    blocked, needs_grant = migration_start_refusal(request.user, vm, quota=quota, has_target=has_target)
    return {"vm": vm, "form": form, "quota": quota, "blocked": blocked, "needs_grant": needs_grant}


@audited(
    "migration.start",
    object_type="vm",
    object_id="vm_id",
    link="vms:detail",
    parameters=("target_cluster", "migration_type", "downtime_window_minutes", "verify_after_migration"),
)
@require_http_methods(["GET", "POST"])
@partner_required
def migration_start(request: PortalRequest, vm_id: str) -> HttpResponse:
    vm = organisation_object_or_404(VM, "VM", partner=request.partner, vm_id=vm_id)
    clusters = list(migration_target_clusters(partner=request.partner, vm=vm))
    form = MigrationStartForm(request.POST or None, clusters=clusters)
    context = _start_context(request, vm, form)
    template = "vms/migrations/start.html#form" if request.htmx else "vms/migrations/start.html"
    if request.method == "GET":
        return render(request, template, context)
    done = _repeat_of(request, form)
    if done:
        return HttpResponse(status=204, headers={"HX-Redirect": done}) if request.htmx else redirect(done)
    if context["blocked"] or context["needs_grant"]:
        return render(request, template, context, status=403)
    if not form.is_valid():
        return render(request, template, context, status=400)
    try:
        migration = start_service(
            client=request.novacron,
            partner=request.partner,
            vm=vm,
            target_cluster=form.cleaned_data["target_cluster"],
            migration_type=form.cleaned_data["migration_type"],
            downtime_window_minutes=form.cleaned_data["downtime_window_minutes"],
            verify_after_migration=form.cleaned_data["verify_after_migration"],
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except InsufficientScopeError:
        raise  # the middleware sends the person to grant the scope and back
    except (QuotaExceededError, ConflictError, NovaCronError) as exc:
        form.add_error(None, f"NovaCron refused the migration: {exc.message or exc}")
        form.renew_idempotency_key()
        return render(request, template, context, status=409 if isinstance(exc, ConflictError) else 400)
    messages.success(request, f"Migration of {vm.name} started.")
    target = reverse("vms:migration_detail", args=[migration.migration_id])
    form_outcome_remember(
        partner_pk=request.partner.pk,
        path=request.path,
        key=form.cleaned_data["idempotency_key"],
        location=target,
    )
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": target})
    return redirect(target)


def _repeat_of(request: PortalRequest, form: MigrationStartForm) -> str | None:
    """The migration page of the migration this form already started (it was posted twice)."""
    if not roles.can(request.user, MIGRATION_EXECUTE) or not form.is_valid():
        return None
    return form_outcome(
        partner_pk=request.partner.pk, path=request.path, key=form.cleaned_data["idempotency_key"]
    )


@require_GET
@partner_required
def migration_detail(request: PortalRequest, migration_id: str) -> HttpResponse:
    migration = organisation_object_or_404(
        Migration, "migration", partner=request.partner, migration_id=migration_id
    )
    return render(request, "vms/migrations/detail.html", {"migration": migration})


@require_GET
@partner_required
def migration_panel(request: PortalRequest, migration_id: str) -> HttpResponse:
    """The panel (or `?display=row` its compact row) alone: what the page polls while its stream is down."""
    migration = organisation_object_or_404(
        Migration, "migration", partner=request.partner, migration_id=migration_id
    )
    return render(request, _fragment_template(request.GET.get("display", "")), {"migration": migration})


@audited("migration.cancel", object_type="migration", object_id="migration_id", link="vms:migration_detail")
@require_POST
@partner_required
@role_required(MIGRATION_EXECUTE)
def migration_cancel(request: PortalRequest, migration_id: str) -> HttpResponse:
    migration = organisation_object_or_404(
        Migration, "migration", partner=request.partner, migration_id=migration_id
    )
    key = action_idempotency_key(request.POST)
    if not build_panel(migration).cancellable:
        refuse(request, "the migration can no longer be cancelled", "not_cancellable")
        messages.warning(request, "This migration can no longer be cancelled.")
    elif key is None:
        messages.warning(request, "Nothing was sent to NovaCron: the page was out of date. Try again.")
    else:
        try:
            migration = cancel_service(client=request.novacron, migration=migration, idempotency_key=key)
        except ConflictError:
            messages.warning(
                request, "Too late: the migration reached switchover and can no longer be cancelled."
            )
    if request.htmx:
        return render(request, _fragment_template(request.POST.get("display", "")), {"migration": migration})
    return redirect("vms:migration_detail", migration_id=migration.migration_id)


@require_GET
@partner_required
def migration_list(request: PortalRequest) -> HttpResponse:
    filters = {
        "status": request.GET.get("status", ""),
        "migration_type": request.GET.get("migration_type", ""),
        "vm": request.GET.get("vm", "").strip(),
    }
    history = Paginator(migration_history(partner=request.partner, filters=filters), HISTORY_PAGE_SIZE)
    context: dict[str, Any] = {
        "page": history.get_page(request.GET.get("page")),
        "filters": filters,
        "statuses": Migration.Status.choices,
    }
    if request.htmx:  # the filtered history alone: the active migrations are not read
        return render(request, "vms/migrations/list.html#history", context)
    active = list(migration_active_list(partner=request.partner))
    context.update(active=active, compact_migrations=shows_compact_rows(len(active)))
    return render(request, "vms/migrations/list.html", context)
