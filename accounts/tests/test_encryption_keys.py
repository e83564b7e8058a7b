from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection

from accounts.models import OAuthToken

pytestmark = pytest.mark.django_db


def raw_access_token(user: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM accounts_oauthtoken WHERE user_id = %s", [user.pk])
        return cursor.fetchone()[0]


def test_rotation_re_encrypts_every_value_with_the_new_first_key(
    settings: Any, owner: Any, grant: Any, partner: Any
) -> None:
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    grant(owner)
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert Fernet(new_key.encode()).decrypt(raw_access_token(owner).encode()) == f"access-{owner.pk}".encode()
    with pytest.raises(InvalidToken):
        Fernet(old_key.encode()).decrypt(raw_access_token(owner).encode())
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    assert OAuthToken.objects.get(user=owner).refresh_token == f"refresh-{owner.pk}"
    partner.refresh_from_db()
    assert partner.api_secret == "acme-test-secret"
