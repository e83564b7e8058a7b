from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

from portal.checks import development_secrets_check

REAL_SECRET_KEY = "a-real-secret-key-for-the-test-0123456789abcdefghijklmnopqrstuvwxyz"
REAL_FERNET_KEY = Fernet.generate_key().decode()


def _ids(**overrides: object) -> list[str]:
    with override_settings(**overrides):
        return [message.id for message in development_secrets_check()]


def test_it_refuses_the_development_secret_key_when_debug_is_off():
    ids = _ids(DEBUG=False, SECRET_KEY=settings.DEV_SECRET_KEY, TOKEN_ENCRYPTION_KEYS=[REAL_FERNET_KEY])

    assert ids == ["portal.E001"]


def test_it_refuses_the_development_encryption_key_when_debug_is_off():
    ids = _ids(
        DEBUG=False, SECRET_KEY=REAL_SECRET_KEY, TOKEN_ENCRYPTION_KEYS=[settings.DEV_TOKEN_ENCRYPTION_KEY]
    )

    assert ids == ["portal.E002"]


def test_it_refuses_the_development_encryption_key_even_as_an_old_decrypt_only_key():
    keys = [REAL_FERNET_KEY, settings.DEV_TOKEN_ENCRYPTION_KEY]

    assert _ids(DEBUG=False, SECRET_KEY=REAL_SECRET_KEY, TOKEN_ENCRYPTION_KEYS=keys) == ["portal.E002"]


def test_it_passes_with_real_secrets_and_debug_off():
    assert _ids(DEBUG=False, SECRET_KEY=REAL_SECRET_KEY, TOKEN_ENCRYPTION_KEYS=[REAL_FERNET_KEY]) == []


def test_it_allows_the_development_secrets_when_debug_is_on():
    ids = _ids(
        DEBUG=True,
        SECRET_KEY=settings.DEV_SECRET_KEY,
        TOKEN_ENCRYPTION_KEYS=[settings.DEV_TOKEN_ENCRYPTION_KEY],
    )

    assert ids == []


def test_it_runs_among_django_s_security_checks():
    with override_settings(
        DEBUG=False,
        SECRET_KEY=settings.DEV_SECRET_KEY,
        TOKEN_ENCRYPTION_KEYS=[settings.DEV_TOKEN_ENCRYPTION_KEY],
    ):
        ids = {message.id for message in run_checks(tags=["security"])}

    assert {"portal.E001", "portal.E002"} <= ids
