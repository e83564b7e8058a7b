from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_layout_shows_no_template_comment_text(owner, client_of):
    # Django's {# #} comments end at the line's end: one spanning lines is printed into the page.
    body = client_of(owner).get("/accounts/").content.decode()

    assert "{#" not in body and "#}" not in body and "{% comment" not in body
