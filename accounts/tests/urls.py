"""The portal's URLs plus two tiny views that exercise the foundation's interfaces in tests."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from accounts.decorators import partner_required
from accounts.models import User
from portal.urls import urlpatterns as portal_urlpatterns


@partner_required
def novacron_probe(request: HttpRequest) -> JsonResponse:
    """Calls NovaCron as the signed-in user, like any detail page does."""
    partner = request.novacron.get_partner()  # type: ignore[attr-defined]
    return JsonResponse({"partner_id": partner.partner_id})


@partner_required
def colleague(request: HttpRequest, pk: int) -> JsonResponse:
    """A partner-scoped object view written the way every portal view is."""
    person = get_object_or_404(User, partner=request.partner, pk=pk)  # type: ignore[attr-defined]
    return JsonResponse({"email": person.email})


urlpatterns = [
    path("accounts/_probe/novacron/", novacron_probe),
    path("accounts/_probe/colleagues/<int:pk>/", colleague),
    *portal_urlpatterns,
]
