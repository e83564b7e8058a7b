"""The VM list's CSV download: the list's own filter and sort, streamed (vms/exports.py)."""

from __future__ import annotations

import re

from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import partner_required
from accounts.http import PortalRequest
from vms.exports import asynchronous, vm_csv_chunks
from vms.forms import VMFilterForm
from vms.selectors import FilterChoices


@require_GET
@partner_required
def vm_export(request: PortalRequest) -> StreamingHttpResponse:
    partner = request.partner
    # The form reads the list's query string; the selects' offered choices play no part here.
    filters = VMFilterForm(request.GET, choices=FilterChoices()).filters()
    chunks = vm_csv_chunks(partner=partner, filters=filters)
    # Under ASGI an async iterator streams (a sync one would be read whole first); under WSGI a sync one.
    content = asynchronous(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_-]", "", partner.partner_id)
    response["Content-Disposition"] = f'attachment; filename="vms-{name}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
