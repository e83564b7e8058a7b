from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.urls("accounts.tests.urls")]


def test_a_user_sees_an_object_of_their_own_partner(client_of: Any, owner: Any, viewer: Any) -> None:
    response = client_of(owner).get(f"/accounts/_probe/colleagues/{viewer.pk}/")
    assert response.status_code == 200 and response.json() == {"email": "viewer@acme.example"}


def test_a_user_of_one_partner_gets_404_for_the_other_partners_objects(
    client_of: Any, owner: Any, outsider: Any
) -> None:
    assert client_of(outsider).get(f"/accounts/_probe/colleagues/{owner.pk}/").status_code == 404
    assert client_of(owner).get(f"/accounts/_probe/colleagues/{outsider.pk}/").status_code == 404


def test_partner_pages_send_anonymous_visitors_to_sign_in(client: Any, owner: Any) -> None:
    response = client.get(f"/accounts/_probe/colleagues/{owner.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/accounts/_probe/colleagues/{owner.pk}/"


def test_a_user_without_a_partner_is_told_so(client_of: Any, owner: Any) -> None:
    staff = User.objects.create_user(username="ops", email="ops@novacron.example")
    response = client_of(staff).get(f"/accounts/_probe/colleagues/{owner.pk}/")
    assert response.status_code == 403
    assert b"not attached to a partner" in response.content


def test_the_decorator_also_guards_async_views(owner: Any) -> None:
    from asgiref.sync import async_to_sync
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse
    from django.test import AsyncRequestFactory

    from accounts.decorators import partner_required

    @partner_required
    async def stream(request: Any) -> HttpResponse:
        return HttpResponse(request.partner.partner_id)

    def as_user(user: Any) -> HttpResponse:
        request = AsyncRequestFactory().get("/live/stream/")

        async def auser() -> Any:
            return user

        request.auser = auser
        return async_to_sync(stream)(request)

    assert as_user(owner).content == b"partner-acme"
    assert as_user(AnonymousUser()).status_code == 302
