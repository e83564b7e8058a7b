"""Log lines: the request or task they belong to, secrets taken out, and a JSON form for collectors.

The filters sit on the handlers, not on loggers, so they see every record that is written out,
whichever logger (ours, Django's, Celery's, uvicorn's, a library's) produced it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Set by RequestIdMiddleware for the duration of a request, and by Celery's task signals for a task.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(incoming: str | None) -> str:
    """The caller's id when it is safe to put in a log line and a header, else a new one."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def correlation_id() -> str | None:
    """What ties NovaCron's side of a call to ours: the web request's id, or the Celery task's."""
    return request_id.get() or task_id.get()


# --- scrubbing -------------------------------------------------------------------------------

SCRUBBED = "[scrubbed]"
# Names whose values are credentials, in a query string, a form, a JSON body or a Python repr.
# `code` and `state` are the OAuth callback's: a code is exchangeable for tokens until it is used.
SECRET_NAMES = frozenset(
    {
        "code",
        "state",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "api_secret",
        "api_key",
        "webhook_secret",
        "secret",
        "code_verifier",
        "token",
        "authorization",
        "cookie",
        "sessionid",
        "portal_sessionid",
        "csrftoken",
        "portal_csrftoken",
    }
)
# These two are common words too ("code=not_found", an error envelope's "code"): in log text they are
# only taken to be the callback's at the start of a query string or form body, or after `&`.
_QUERY_ONLY_NAMES = frozenset({"code", "state"})
_ANYWHERE_NAMES = "|".join(
    sorted((re.escape(name) for name in SECRET_NAMES - _QUERY_ONLY_NAMES), key=len, reverse=True)
)
_VALUE = r"[^&\s\"',;]+"
# name=value as in a URL, a form body or a cookie header (stops at the next separator).
_QUERY_PAIR = re.compile(rf"(?i)(?<![A-Za-z0-9_])({_ANYWHERE_NAMES})=({_VALUE})")
_CALLBACK_PAIR = re.compile(rf"(?i)(?<![^?&])(code|state)=({_VALUE})")
# "name": "value" / 'name': 'value' as in JSON or a dict's repr.
_QUOTED_PAIR = re.compile(rf"(?i)([\"'])({_ANYWHERE_NAMES})\1(\s*[:=]\s*)([\"'])(?:(?!\4).)*\4")
# An Authorization header's credentials, wherever they are written.
_AUTH_SCHEME = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")


def scrub(text: str) -> str:
    """`text` with every credential value replaced, its names kept (so a reader sees what was there)."""
    text = _AUTH_SCHEME.sub(rf"\1 {SCRUBBED}", text)
    text = _QUOTED_PAIR.sub(rf"\1\2\1\3\4{SCRUBBED}\4", text)
    text = _CALLBACK_PAIR.sub(rf"\1={SCRUBBED}", text)
    return _QUERY_PAIR.sub(rf"\1={SCRUBBED}", text)


def scrub_data(value: Any) -> Any:
    """A copy of nested dicts, lists and strings with credentials scrubbed (for Sentry's events)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {
            key: SCRUBBED
            if isinstance(key, str) and key.lower() in SECRET_NAMES and item
            else scrub_data(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_data(item) for item in value]
    return value


class ScrubFilter(logging.Filter):
    """Rewrites each record as its scrubbed, fully formatted message.

    The arguments are merged in first: uvicorn's access log passes the path with its query string
    as an argument, and a secret split between format and arguments would slip past a scrub of
    either alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class ContextFilter(logging.Filter):
    """Adds `request_id` and `task_id` (None outside a request or task) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request or task it ran in."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "task_id"):
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING dict: every line through one handler that adds the context and scrubs.

    uvicorn sets up its own loggers before it imports the app; Django applies this afterwards, so
    naming them here (with our handler, not propagating) takes their output over, access log included.
    """
    if log_format not in {"plain", "json"}:
        raise ValueError(f"LOG_FORMAT must be plain or json, not {log_format!r}")
    own = {"handlers": ["console"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "lib.logs.ContextFilter"},
            "scrub": {"()": "lib.logs.ScrubFilter"},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "lib.logs.JSONFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                # The order matters: the context is added before the message is rewritten.
                "filters": ["context", "scrub"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's defaults give these their own plain handlers: drop those, so their lines
            # reach ours (and are written once).
            "django": {"level": "INFO"},
            "django.server": {"level": "INFO"},
            "django.db.backends": {"level": "WARNING"},
            "uvicorn": {**own, "level": "INFO"},
            "uvicorn.error": {**own, "level": "INFO"},
            "uvicorn.access": {**own, "level": "INFO"},
        },
    }
