"""System checks: with DEBUG off, the portal refuses the development secrets from the repository.

They run before `manage.py migrate`, `check` and `runserver`, and so in every release step that
migrates. uvicorn and Celery do not run system checks: a deployment runs `manage.py migrate` (or
`manage.py check --deploy`) before starting them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

GENERATE_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
GENERATE_FERNET_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


@register(Tags.security)
def development_secrets_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # DEBUG on is a developer's machine, where the published keys are the point.
    if settings.DEBUG:
        return []
    errors: list[CheckMessage] = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development key from the repository, and DEBUG is off: anyone could "
                "forge session cookies and signed values.",
                hint=f"Set SECRET_KEY to a new random value: {GENERATE_SECRET_KEY}",
                id="portal.E001",
            )
        )
    if settings.DEV_TOKEN_ENCRYPTION_KEY in settings.TOKEN_ENCRYPTION_KEYS:
        errors.append(
            Error(
                "TOKEN_ENCRYPTION_KEYS includes the development key from the repository, and DEBUG is off: "
                "whoever reads the database could decrypt the stored NovaCron tokens and partner secrets.",
                hint=f"Set TOKEN_ENCRYPTION_KEYS to a new Fernet key: {GENERATE_FERNET_KEY}. To keep what was "
                "stored under the development key, list it second for one "
                "`manage.py rotate_encryption_keys --skip-checks`, then remove it.",
                id="portal.E002",
            )
        )
    return errors


@register()
def budget_shares_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The sync and the jobs share one API budget: together they may not promise more than all of it."""
    total = settings.SYNC_BUDGET_SHARE + settings.JOBS_BUDGET_SHARE
    if total <= 1 and settings.JOBS_BUDGET_SHARE > 0:
        return []
    return [
        Error(
            f"SYNC_BUDGET_SHARE + JOBS_BUDGET_SHARE is {total:g}: the sync and bulk jobs together could "
            "exceed the partner's API rate limit (or JOBS_BUDGET_SHARE is not positive).",
            hint="Keep both above 0 and their sum at most 1 (people's clicks use the rest).",
            id="portal.E003",
        )
    ]
