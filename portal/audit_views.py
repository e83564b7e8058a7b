"""The audit log's page and CSV export, for the partner's admins (role checked here, on the server).

They live in portal because the audit app sits below accounts (it records accounts' own writes), and
the guard of a partner admin's page is accounts'. Reads only the local log: no NovaCron call, no scope.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import partner_admin_page
from accounts.http import PortalRequest
from audit.export import csv_chunks, csv_chunks_async
from audit.forms import AuditFilterForm
from audit.selectors import Cursor, entry_page, people_of

FILTER_FIELDS = ("person", "action", "object", "since", "until")


def _query(request: PortalRequest, **extra: str) -> str:
    """The current filters (only those set), plus `extra`: what a bookmark of this view holds."""
    pairs = [(name, request.GET[name]) for name in FILTER_FIELDS if request.GET.get(name, "").strip()]
    pairs += [(name, value) for name, value in extra.items() if value]
    return urlencode(pairs)


@require_GET
@partner_admin_page
def audit_log(request: PortalRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, people=people_of(partner=request.partner))
    filters = form.filters()
    cursor = Cursor.parse(request.GET.get("after"))
    page = entry_page(partner=request.partner, filters=filters, cursor=cursor)
    context = {
        "form": form,
        "entries": page.entries,
        "deeper": cursor is not None,
        "first_url": "?" + _query(request),
        "next_url": "?" + _query(request, after=page.next_cursor.token()) if page.next_cursor else "",
        "export_url": reverse("audit_export") + "?" + _query(request),
    }
    return render(request, "audit/log.html", context)


@require_GET
@partner_admin_page
def audit_export(request: PortalRequest) -> StreamingHttpResponse:
    form = AuditFilterForm(request.GET, people=people_of(partner=request.partner))
    filters = form.filters()
    partner = request.partner
    chunks = (
        csv_chunks_async(partner=partner, filters=filters)
        if isinstance(request, ASGIRequest)
        else csv_chunks(partner=partner, filters=filters)
    )
    name = f"audit-{partner.partner_id}-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return StreamingHttpResponse(
        chunks,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
