"""The layout every signed-in page shares: a skip link to the main content, the navigation marking
the current section, the theme switch, the region failed requests are reported in, and form fields
whose aria-describedby names elements that exist."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.test_query_budgets import Portal

pytestmark = pytest.mark.django_db

CURRENT = re.compile(r'<a class="nav-link active" aria-current="page" href="([^"]+)">')


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/", "/"),
        ("/vms/", "/vms/"),
        ("/vms/vm-00001/delete/", "/vms/"),
        ("/migrations/mig-00001/", "/migrations/"),
        ("/webhooks/notifications/", "/webhooks/notifications/"),
        ("/partner/webhooks/received/", "/partner/webhooks/"),
        ("/partner/integrations/new/", "/partner/integrations/"),
        ("/accounts/", "/accounts/"),
    ],
)
def test_the_navigation_marks_the_current_section_only(portal: Portal, path: str, section: str) -> None:
    body = portal.admin.get(path).content.decode()

    assert CURRENT.findall(body) == [section]


def test_a_page_starts_with_a_skip_link_to_its_main_content(portal: Portal) -> None:
    body = portal.admin.get("/vms/").content.decode()

    skip = body.index('href="#main"')
    assert skip < body.index('<nav class="portal-sidebar')
    assert '<main class="container-fluid py-3" id="main"' in body
    assert 'id="theme-toggle"' in body and 'id="request-errors"' in body


def test_every_aria_describedby_of_a_form_names_an_element_of_the_page(portal: Portal) -> None:
    # The subscription form refused (a bad URL): its fields carry help text and errors.
    response = portal.admin.post("/partner/webhooks/new/", {"url": "not a url", "events": []})
    pages = [
        response.content.decode(),
        portal.admin.get("/partner/integrations/new/").content.decode(),
        portal.admin.post("/partner/integrations/new/", {"name": ""}).content.decode(),
    ]

    for body in pages:
        described = {ref for refs in re.findall(r'aria-describedby="([^"]+)"', body) for ref in refs.split()}
        ids = set(re.findall(r'\bid="([^"]+)"', body))
        assert described, "a form with help text or errors"
        assert described <= ids, described - ids


def test_the_api_budget_bar_shows_what_is_left(portal: Portal) -> None:
    partner: Any = portal.partner
    partner.rate_limit_limit, partner.rate_limit_remaining = 1500, 1499
    partner.save(update_fields=["rate_limit_limit", "rate_limit_remaining"])

    body = portal.admin.get("/").content.decode()
    card = body[body.index('id="rate-budget"') :]

    assert 'aria-label="API rate budget left"' in card and 'aria-valuenow="100"' in card
    assert "1499 requests left" in card
