"""Every page the portal serves, rendered for every role, carries no raw template syntax.

A comment Django does not take for one (`{# … #}` spans one line only) or a tag with a typo prints its
source into the page: no other test looks at what a page shows. The pages are the query budgets' (which
`tests/test_query_budgets.py` proves cover every route answering a GET), rendered in the same world
for an admin, an operator and a viewer, each once holding every scope and once only the sign-in ones
(the pages then show their grant links), plus the signed-out pages and the 404 page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.security.test_urlconf_access import ROLES, _people
from tests.test_query_budgets import (
    HTMX_FRAGMENTS,
    PAGES,
    SIGNED_OUT_PAGES,
    Portal,
)

pytestmark = pytest.mark.django_db

RAW_SYNTAX = re.compile(r"\{#|#\}|\{%|%\}|\{\{|\}\}")
# A script's text is JavaScript (JSON with "}}" is fine there); everything else is what people read.
SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
SIGN_IN_SCOPES = "openid profile email vm:read"


def raw_template_syntax(html: str) -> list[str]:
    """Each raw `{#`, `#}`, `{%`, `%}`, `{{` or `}}` outside <script>, with the text around it."""
    text = SCRIPT.sub("", html)
    return [text[max(m.start() - 60, 0) : m.end() + 60] for m in RAW_SYNTAX.finditer(text)]


def _html_pages(client: Client, paths: dict[str, int], event: int, headers: dict[str, str]) -> dict[str, str]:
    pages = {}
    for path in paths:
        url = path.format(event=event)
        response = client.get(url, headers=headers)
        assert response.status_code < 500, (url, response.status_code)
        if response.get("Content-Type", "").startswith("text/html") and response.status_code != 302:
            pages[url] = response.content.decode()
    return pages


def test_the_check_finds_each_kind_of_raw_syntax_and_ignores_scripts() -> None:
    page = '<p>{# note #}</p><p>{% if x %}</p><p>{{ name }}</p><script>var a = {"b": {"c": 1}};</script>'

    found = raw_template_syntax(page)

    assert len(found) == 6
    assert raw_template_syntax('<script type="application/json">{"a": {"b": {}}}</script><p>ok</p>') == []


@pytest.mark.parametrize("scopes", ["every scope", "sign-in scopes"])
@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_raw_template_syntax(
    portal: Portal, grant: Callable[..., Any], client_of: Callable[[Any], Client], role: str, scopes: str
) -> None:
    person = _people(portal, grant)[role]
    if scopes == "sign-in scopes":
        grant(person, SIGN_IN_SCOPES)
    client = client_of(person)
    # Without the scope the step-up leaves for NovaCron's consent (not answered here).
    paths = {path: 0 for path in PAGES if scopes == "every scope" or not path.startswith("/accounts/grant/")}

    pages = {
        **_html_pages(client, paths, portal.event, {}),
        **_html_pages(client, HTMX_FRAGMENTS, portal.event, {"HX-Request": "true"}),
        **_html_pages(client, {"/no-such-page/": 0, "/vms/vm-99999/delete/": 0}, portal.event, {}),
    }
    found = {url: raw for url, html in pages.items() if (raw := raw_template_syntax(html))}

    assert len(pages) >= len(PAGES) - 3  # every page but the JSON ones and a redirect was looked at
    assert found == {}


def test_no_signed_out_page_shows_raw_template_syntax(portal: Portal) -> None:
    pages = _html_pages(Client(), {**SIGNED_OUT_PAGES, "/no-such-page/": 0}, portal.event, {})
    found = {url: raw for url, html in pages.items() if (raw := raw_template_syntax(html))}

    assert "/accounts/login/" in pages
    assert found == {}
