"""A sign-in writes no OAuth code, state or token to the logs, whichever logger writes the line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.tests.fake_novacron import FakeNovaCron
from accounts.tests.test_signin import start_sign_in

pytestmark = pytest.mark.django_db

Lines = Callable[[], list[dict[str, Any]]]


def access_line(path: str, status: int) -> None:
    # What uvicorn's access logger is given for the same request (the query string is an argument).
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50432", "GET", path, "1.1", status
    )


def test_a_sign_in_logs_neither_its_code_nor_its_state_nor_its_tokens(
    client: Client, novacron: FakeNovaCron, partner: Any, written_logs: Lines
) -> None:
    authorization = start_sign_in(client)
    novacron.answer_code_exchange(
        nonce=authorization.nonce, access_token="AT-SECRET-1", refresh_token="RT-SECRET-1"
    )
    path = f"/accounts/callback/?code=SECRET123&state={authorization.state}"

    response = client.get(path)
    access_line(path, response.status_code)

    assert response.status_code == 302
    written = json.dumps(written_logs())
    assert '"uvicorn.access"' in written and "code=[scrubbed]&state=[scrubbed]" in written
    for secret in ("SECRET123", authorization.state, "AT-SECRET-1", "RT-SECRET-1"):
        assert secret not in written


def test_a_refused_callback_logs_neither_its_code_nor_its_state(
    client: Client, novacron: FakeNovaCron, partner: Any, written_logs: Lines
) -> None:
    start_sign_in(client)
    path = "/accounts/callback/?code=SECRET123&state=STATE456"

    response = client.get(path)
    access_line(path, response.status_code)

    assert response.status_code == 400
    lines = written_logs()
    assert any(line["logger"] == "django.request" for line in lines)  # "Bad Request: /accounts/callback/"
    written = json.dumps(lines)
    assert "SECRET123" not in written and "STATE456" not in written
