"""Each person's time zone: detected from the browser once, chosen on the account page, used by
every page (server-rendered <time> elements in that zone)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client

from tests.factories import make_vm

pytestmark = pytest.mark.django_db

# make_vm(partner, 1) is created at T0 + 1 min: 2026-01-15 10:01 UTC.
CREATED_UTC = '<time datetime="2026-01-15T10:01:00Z">15 Jan 2026, 10:01 UTC</time>'
CREATED_KOLKATA = '<time datetime="2026-01-15T10:01:00Z">15 Jan 2026, 15:31 UTC+05:30</time>'


def _csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/accounts/")
    return client


def _csrf(client: Client) -> dict[str, str]:
    return {"HTTP_X_CSRFTOKEN": client.cookies[settings.CSRF_COOKIE_NAME].value}


def test_a_page_shows_each_person_times_in_their_own_zone(owner, viewer, grant, client_of):
    make_vm(owner.partner, 1)
    owner.time_zone = "Asia/Kolkata"
    owner.save()
    for person in (owner, viewer):
        grant(person)

    assert CREATED_KOLKATA in client_of(owner).get("/vms/").content.decode()
    assert CREATED_UTC in client_of(viewer).get("/vms/").content.decode()


def test_under_asgi_the_zone_reaches_the_page_too(owner, grant):
    make_vm(owner.partner, 1)
    owner.time_zone = "Asia/Kolkata"
    owner.save()
    grant(owner)

    async def page() -> str:
        # The ASGI handler: the middleware chain runs in async mode, the view in a thread.
        client = AsyncClient()
        await client.aforce_login(owner)
        return (await client.get("/vms/")).content.decode()

    assert CREATED_KOLKATA in async_to_sync(page)()


def test_a_person_without_a_zone_has_pages_ask_the_browser_once(owner, client_of):
    page = client_of(owner).get("/accounts/").content.decode()
    assert re.search(
        r'<meta name="time-zone" content="UTC" data-detect-url="/accounts/time-zone/detect/">', page
    )

    owner.time_zone = "Europe/Berlin"
    owner.save()
    page = client_of(owner).get("/accounts/").content.decode()
    assert '<meta name="time-zone" content="Europe/Berlin">' in page


def test_the_browser_zone_is_stored_when_none_is_set_and_never_over_one(owner):
    client = _csrf_client(owner)

    first = client.post("/accounts/time-zone/detect/", {"time_zone": "Asia/Calcutta"}, **_csrf(client))
    again = client.post("/accounts/time-zone/detect/", {"time_zone": "America/New_York"}, **_csrf(client))

    assert first.status_code == 200 and first.json() == {"time_zone": "Asia/Calcutta", "stored": True}
    assert again.json() == {"time_zone": "Asia/Calcutta", "stored": False}
    owner.refresh_from_db()
    assert owner.time_zone == "Asia/Calcutta"


def test_a_zone_the_person_chose_is_not_replaced_by_the_browser(owner):
    client = _csrf_client(owner)
    client.post("/accounts/time-zone/", {"time_zone": "Europe/Lisbon"}, **_csrf(client))

    answer = client.post("/accounts/time-zone/detect/", {"time_zone": "Asia/Tokyo"}, **_csrf(client))

    assert answer.json()["stored"] is False
    owner.refresh_from_db()
    assert owner.time_zone == "Europe/Lisbon"


def test_a_reported_zone_outside_the_iana_database_is_refused_with_the_error_envelope(owner):
    client = _csrf_client(owner)

    for bad in ("Mars/Olympus", "localtime", "", "../../etc/passwd"):
        answer = client.post("/accounts/time-zone/detect/", {"time_zone": bad}, **_csrf(client))
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "validation_error"
    owner.refresh_from_db()
    assert owner.time_zone == ""


def test_both_posts_need_the_csrf_token_and_a_signed_in_person(owner):
    client = _csrf_client(owner)
    for path in ("/accounts/time-zone/detect/", "/accounts/time-zone/"):
        assert client.post(path, {"time_zone": "Asia/Tokyo"}).status_code == 403
        assert Client().post(path, {"time_zone": "Asia/Tokyo"}).status_code == 302  # to sign in
    owner.refresh_from_db()
    assert owner.time_zone == ""


def test_the_account_page_offers_every_zone_with_the_current_one_selected(owner, client_of):
    owner.time_zone = "Asia/Kolkata"
    owner.save()

    page = client_of(owner).get("/accounts/").content.decode()

    assert '<option value="Asia/Kolkata" selected>Asia/Kolkata</option>' in page
    assert '<option value="America/Argentina/Buenos_Aires">America/Argentina/Buenos Aires</option>' in page
    assert 'value="localtime"' not in page


def test_choosing_a_zone_on_the_account_page_changes_every_page(owner, grant):
    make_vm(owner.partner, 1)
    grant(owner)
    client = _csrf_client(owner)

    answer = client.post("/accounts/time-zone/", {"time_zone": "Asia/Kolkata"}, **_csrf(client))

    assert answer.status_code == 302 and answer["Location"] == "/accounts/"
    assert "Times are now shown in Asia/Kolkata." in client.get("/accounts/").content.decode()
    assert CREATED_KOLKATA in client.get("/vms/").content.decode()


def test_an_unknown_zone_on_the_account_page_says_what_is_wrong(owner):
    client = _csrf_client(owner)

    answer = client.post("/accounts/time-zone/", {"time_zone": "Mars/Olympus"}, **_csrf(client))

    assert answer.status_code == 400
    assert "is not a time zone of the IANA database" in answer.content.decode()
    assert 'class="form-select is-invalid"' in answer.content.decode()
    owner.refresh_from_db()
    assert owner.time_zone == ""
