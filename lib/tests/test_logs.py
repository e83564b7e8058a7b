from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from lib import logs
from portal.celery import app as celery_app
from portal.middleware import RequestIdMiddleware

Lines = Callable[[], list[dict[str, Any]]]


def record(msg: str, *args: object, name: str = "test", exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, exc_info)


def uvicorn_access(path: str, status: int = 200) -> None:
    """An access line as uvicorn writes it: the path, query string included, is an argument."""
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50432", "GET", path, "1.1", status
    )


# --- scrubbing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /accounts/callback/?code=SECRET123&state=STATE456 HTTP/1.1",
            "GET /accounts/callback/?code=[scrubbed]&state=[scrubbed] HTTP/1.1",
        ),
        (
            "grant_type=authorization_code&code=SECRET123&code_verifier=V",
            "grant_type=authorization_code&code=[scrubbed]&code_verifier=[scrubbed]",
        ),
        (
            '{"access_token": "AT", "refresh_token": "RT", "id_token": "IT", "expires_in": 3600}',
            '{"access_token": "[scrubbed]", "refresh_token": "[scrubbed]", "id_token": "[scrubbed]", "expires_in": 3600}',
        ),
        (
            "{'client_secret': 'CS', 'password': 'PW'}",
            "{'client_secret': '[scrubbed]', 'password': '[scrubbed]'}",
        ),
        ("Authorization: Bearer eyJhbGciOi.x-y_z", "Authorization: Bearer [scrubbed]"),
        ("/x/?next=/vms/&password=hunter2", "/x/?next=/vms/&password=[scrubbed]"),
    ],
)
def test_it_scrubs_credentials_and_keeps_their_names(text: str, expected: str) -> None:
    assert logs.scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "NovaCron answered [404 not_found] error code=not_found",
        "NotFoundError(status=404, code='not_found', message='no such VM')",
        'the envelope {"error": {"code": "rate_limited"}}',
        "vm-1 state=running",
    ],
)
def test_it_leaves_code_and_state_alone_outside_a_query_string(text: str) -> None:
    assert logs.scrub(text) == text


def test_the_filter_scrubs_a_secret_passed_as_an_argument() -> None:
    line = record(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:1",
        "GET",
        "/accounts/callback/?code=SECRET123&state=S",
        "1.1",
        302,
    )

    logs.ScrubFilter().filter(line)

    assert logging.Formatter("%(message)s").format(line) == (
        '127.0.0.1:1 - "GET /accounts/callback/?code=[scrubbed]&state=[scrubbed] HTTP/1.1" 302'
    )


def test_the_filter_scrubs_a_traceback() -> None:
    try:
        raise ValueError("refused access_token=AT9")
    except ValueError:
        import sys

        line = record("failed", exc_info=sys.exc_info())

    logs.ScrubFilter().filter(line)

    written = logging.Formatter("%(message)s").format(line)
    assert "AT9" not in written and "access_token=[scrubbed]" in written


def test_sentrys_events_are_scrubbed_before_they_are_sent() -> None:
    from lib.sentry import before_send

    event = {
        "request": {
            "url": "http://portal/accounts/callback/",
            "query_string": "code=SECRET123&state=STATE456",
            "headers": {"Authorization": "Bearer AT", "Accept": "text/html"},
            "data": {"password": "PW"},
        },
        "breadcrumbs": {"values": [{"message": "GET /accounts/callback/?code=SECRET123"}]},
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"code": "'SECRET123'", "n": 1}}]}}]},
    }

    sent = before_send(event, {})

    assert not {"SECRET123", "STATE456", "PW"} & set(
        json.dumps(sent).replace('"', " ").replace("'", " ").split()
    )
    assert "SECRET123" not in json.dumps(sent) and "STATE456" not in json.dumps(sent)
    assert sent["request"]["headers"] == {"Authorization": "[scrubbed]", "Accept": "text/html"}


def test_sentry_is_not_started_without_a_dsn(settings: Any) -> None:
    import sentry_sdk

    assert settings.SENTRY_DSN == ""
    assert not sentry_sdk.is_initialized()


# --- the configured handler ------------------------------------------------------------------


def test_json_lines_carry_time_level_logger_and_message(written_logs: Lines) -> None:
    logging.getLogger("vms.sync").warning("sync of %s failed", "partner-acme")

    (line,) = written_logs()
    assert line["level"] == "WARNING" and line["logger"] == "vms.sync"
    assert line["message"] == "sync of partner-acme failed" and line["time"].endswith("+00:00")
    assert "request_id" not in line


def test_uvicorns_access_line_is_scrubbed(written_logs: Lines) -> None:
    uvicorn_access("/accounts/callback/?code=SECRET123&state=STATE456", 302)

    (line,) = written_logs()
    assert line["logger"] == "uvicorn.access"
    assert (
        line["message"]
        == '127.0.0.1:50432 - "GET /accounts/callback/?code=[scrubbed]&state=[scrubbed] HTTP/1.1" 302'
    )


def test_log_format_json_configures_the_json_formatter_for_every_logger() -> None:
    config = logs.logging_config(log_format="json", level="INFO")

    assert config["handlers"]["console"]["formatter"] == "json"
    assert config["formatters"]["json"] == {"()": "lib.logs.JSONFormatter"}
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        assert config["loggers"][name]["handlers"] == ["console"]
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.logging_config(log_format="xml", level="INFO")


# --- request and task ids --------------------------------------------------------------------


def test_a_response_carries_a_new_request_id(client: Client) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept_and_any_other_replaced(client: Client) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.2_x")["X-Request-ID"] == "lb-7f3a.2_x"
    for unsafe in ("two words", "x" * 65, 'quote"d', "new\nline"):
        assert client.get("/healthz", HTTP_X_REQUEST_ID=unsafe)["X-Request-ID"] != unsafe


@pytest.mark.django_db  # closing a response closes stale database connections too
def test_lines_written_while_serving_a_request_carry_its_id_and_later_ones_do_not(
    written_logs: Lines,
) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        logging.getLogger("vms.views").info("listing")
        return HttpResponse()

    response = RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="req-abc"))
    response.close()  # what the server does last: the request is over
    logging.getLogger("vms.views").info("after")

    assert [(line["message"], line.get("request_id")) for line in written_logs()] == [
        ("listing", "req-abc"),
        ("after", None),
    ]


def test_an_async_view_sees_the_request_id(written_logs: Lines) -> None:
    async def view(request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)
        logging.getLogger("live.views").info("streaming")
        return HttpResponse()

    async def serve() -> HttpResponse:
        middleware = RequestIdMiddleware(view)
        return await middleware(RequestFactory().get("/live/", HTTP_X_REQUEST_ID="req-async"))  # type: ignore[misc]

    response = asyncio.run(serve())

    assert response["X-Request-ID"] == "req-async"
    (line,) = [line for line in written_logs() if line["message"] == "streaming"]
    assert line["request_id"] == "req-async"


def test_lines_written_in_a_celery_task_carry_its_id(written_logs: Lines) -> None:
    @celery_app.task(name="lib.tests.log_something")
    def log_something() -> str | None:
        logging.getLogger("vms.tasks").info("syncing")
        return logs.correlation_id()

    result = log_something.apply()

    assert result.get() == result.id
    (line,) = [line for line in written_logs() if line["message"] == "syncing"]
    assert line["task_id"] == result.id
    assert logs.task_id.get() is None
