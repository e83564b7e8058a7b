"""Error reports to Sentry: switched on by SENTRY_DSN, with the same scrubbing as the logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lib.logs import scrub_data

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint


def before_send(event: Event, hint: Hint) -> Event:
    """The event with credentials taken out of everything it carries.

    Sentry's own scrubber already blanks well-known names (passwords, cookies, Authorization); this
    adds the OAuth callback's `code` and `state`, tokens inside query strings, messages and
    breadcrumbs (log lines are recorded as breadcrumbs before the log handlers scrub them), and
    local variables in stack frames.
    """
    scrubbed: Event = scrub_data(event)
    return scrubbed


def sentry_init(*, dsn: str, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        before_send=before_send,
        # Errors only: performance tracing is a separate decision (cost, sampling), not made here.
        traces_sample_rate=0.0,
    )
