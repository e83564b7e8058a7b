"""The usage page and its CSV export: thin adapters over usage.selectors.

Usage is for the people who run the fleet and bill it: partner admins and operators (`USAGE_ROLES`),
checked here on the server; viewers get the 403 page saying why.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import date
from functools import wraps
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import partner_required
from accounts.http import PortalRequest
from usage import selectors
from usage.forms import UsageFilterForm
from usage.services import local_day, zone_of

USAGE_ROLES = frozenset({"admin", "operator"})


def usage_role_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: PortalRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.role not in USAGE_ROLES:
            reason = (
                f"Your role ({request.user.role or 'no'}) does not allow you to see usage reports. "
                "Ask a partner admin: this needs the role admin or operator."
            )
            return render(request, "roles/forbidden.html", {"reason": reason}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _choices(request: PortalRequest) -> tuple[UsageFilterForm, date, str]:
    """The month asked for (else this month in the partner's zone) and the breakdown (else cloud)."""
    partner = request.partner
    this_month = local_day(timezone.now(), zone_of(partner)).replace(day=1)
    month = UsageFilterForm({"month": request.GET.get("month", "")}, dimensions=[]).chosen_month(this_month)
    form = UsageFilterForm(request.GET, dimensions=selectors.dimensions(partner=partner, month=month))
    form.is_valid()
    dimension = form.cleaned_data.get("by") or "cloud"
    return form, month, dimension


@require_GET
@partner_required
@usage_role_required
def usage_page(request: PortalRequest) -> HttpResponse:
    form, month, dimension = _choices(request)
    report = selectors.usage_month(partner=request.partner, month=month, dimension=dimension)
    context = {
        "form": form,
        "report": report,
        "previous": selectors.previous_month(month),
        "time_zone": request.partner.time_zone or "UTC",
        # The person's own zone, which every time on the page and the chart's dates are written in.
        "person_zone": timezone.get_current_timezone_name(),
    }
    return render(request, "usage/page.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@partner_required
@usage_role_required
def usage_export(request: PortalRequest) -> StreamingHttpResponse:
    _form, month, _dimension = _choices(request)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(selectors.CSV_COLUMNS)
        for row in selectors.usage_detail_rows(partner=request.partner, month=month):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{month:%Y-%m}.csv"'
    return response
