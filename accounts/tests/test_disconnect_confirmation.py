"""Disconnect asks first: the account page links to a page with the question; only its POST acts."""

from __future__ import annotations

from typing import Any

from accounts.models import OAuthToken


def test_the_account_page_links_to_the_question_instead_of_posting(
    owner: Any, grant: Any, client_of: Any
) -> None:
    grant(owner)

    body = client_of(owner).get("/accounts/").content.decode()

    assert 'id="disconnect" href="/accounts/disconnect/"' in body
    assert 'action="/accounts/disconnect/"' not in body


def test_asking_changes_nothing_and_offers_both_answers(owner: Any, grant: Any, client_of: Any) -> None:
    grant(owner)
    client = client_of(owner)

    response = client.get("/accounts/disconnect/")

    body = response.content.decode()
    assert response.status_code == 200
    assert '<form method="post" action="/accounts/disconnect/"' in body and 'id="disconnect-confirm"' in body
    assert 'href="/accounts/"' in body  # stay connected
    assert OAuthToken.objects.filter(user=owner).exists()
    assert client.get("/accounts/").status_code == 200  # still signed in


def test_a_visitor_is_sent_to_sign_in(client: Any) -> None:
    response = client.get("/accounts/disconnect/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
