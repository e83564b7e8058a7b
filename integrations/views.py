"""Integrations, which live at NovaCron only: the pages call NovaCron with the signed-in admin's token
(`request.novacron`), so NovaCron itself authorizes the person (scope `partner:admin`, role admin).
Without the scope a page offers the grant link and makes no API call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from novacron import errors as novacron_errors

from accounts.decorators import needs_partner_admin_scope, partner_admin_page
from accounts.http import PortalRequest
from audit.trail import audited
from integrations.forms import (
    EndpointFormSet,
    IntegrationCreateForm,
    IntegrationForm,
    integration_body,
    integration_initial,
)
from lib.forms import action_idempotency_key, apply_api_field_errors, form_outcome, form_outcome_remember


@require_GET
@partner_admin_page
@needs_partner_admin_scope
def integration_list(request: PortalRequest) -> HttpResponse:
    requested = request.GET.get("page", "")
    page_number = max(int(requested), 1) if requested.isdigit() else 1
    page = request.novacron.list_integrations(page=page_number, limit=50)
    return render(request, "integrations/integration_list.html", {"page": page, "integrations": page.data})


def _integration_save(form: IntegrationForm, endpoints: Any, save: Callable[[dict[str, Any]], Any]) -> bool:
    """Send the forms to NovaCron; on a refusal, put its messages on the fields. True when saved."""
    if not (form.is_valid() and endpoints.is_valid()):
        return False
    try:
        save(integration_body(form, endpoints))
    except novacron_errors.ValidationError as exc:
        apply_api_field_errors(exc.fields, form, endpoints)
        if not exc.fields:
            form.add_error(None, exc.message)
        return False
    except novacron_errors.ConflictError as exc:
        form.add_error("name", exc.message or "An integration with this name already exists.")
        return False
    return True


@audited(
    "integration.create",
    object_type="integration",
    link="integrations:integration_list",
    parameters=("name", "type", "status"),
)
@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def integration_create(request: PortalRequest) -> HttpResponse:
    form = IntegrationCreateForm(request.POST or None)
    endpoints = EndpointFormSet(request.POST or None, prefix="endpoints")
    if request.method == "POST":

        def create(body: dict[str, Any]) -> Any:
            return request.novacron.create_integration(
                body, idempotency_key=form.cleaned_data["idempotency_key"]
            )

        if _integration_save(form, endpoints, create):
            messages.success(request, f"Integration “{form.cleaned_data['name']}” created.")
            return redirect("integrations:integration_list")
        form.renew_idempotency_key()
    context = {"form": form, "endpoints": endpoints, "creating": True}
    return _form_page(request, context)


def _form_page(request: PortalRequest, context: dict[str, Any]) -> HttpResponse:
    """The create or edit form; shown again after a POST, it is a 400 (what was sent was refused)."""
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/integration_form.html", context, status=status)


@audited(
    "integration.update",
    object_type="integration",
    object_id="integration_id",
    link="integrations:integration_edit",
    parameters=("name", "type", "status"),
)
@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def integration_edit(request: PortalRequest, integration_id: str) -> HttpResponse:
    client = request.novacron
    integration = client.get_integration(integration_id)
    initial, rows = integration_initial(integration)
    if request.method == "POST":
        form = IntegrationForm(request.POST, initial=initial)
        endpoints = EndpointFormSet(request.POST, prefix="endpoints", initial=rows)

        def update(body: dict[str, Any]) -> Any:
            # No Idempotency-Key: NovaCron honours one on POST only (docs/partner-api.md), and the SDK's
            # update_integration takes none. A PATCH is idempotent by itself: the same body twice
            # (a double click) leaves the integration as once.
            return client.update_integration(integration_id, body)

        if _integration_save(form, endpoints, update):
            messages.success(request, f"Integration “{form.cleaned_data['name']}” saved.")
            return redirect("integrations:integration_list")
    else:
        form = IntegrationForm(initial=initial)
        endpoints = EndpointFormSet(prefix="endpoints", initial=rows)
    context = {"form": form, "endpoints": endpoints, "integration": integration, "creating": False}
    return _form_page(request, context)


@audited("integration.delete", object_type="integration", object_id="integration_id")
@partner_admin_page
@needs_partner_admin_scope
@require_http_methods(["GET", "POST"])
def integration_delete(request: PortalRequest, integration_id: str) -> HttpResponse:
    client = request.novacron
    # The DELETE itself carries no Idempotency-Key (NovaCron honours one on POST only, and the SDK's
    # delete_integration takes none). The confirmation form carries the portal's own key instead, so
    # the second of a double click, arriving once the first is done, goes where the first went
    # rather than to a 404 for the integration it just deleted.
    key = action_idempotency_key(request.POST) if request.method == "POST" else None
    done = form_outcome(partner_pk=request.partner.pk, path=request.path, key=key) if key else None
    if done:
        return redirect(done)
    integration = client.get_integration(integration_id)
    if request.method == "POST":
        client.delete_integration(integration_id)
        messages.success(request, f"Integration “{integration.name}” deleted.")
        target = reverse("integrations:integration_list")
        if key:
            form_outcome_remember(partner_pk=request.partner.pk, path=request.path, key=key, location=target)
        return redirect(target)
    return render(request, "integrations/integration_confirm_delete.html", {"integration": integration})
