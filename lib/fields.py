"""A text field whose value is encrypted in the database and plain in Python."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from lib import crypto

if TYPE_CHECKING:
    # Generic only in django-stubs: Django's field classes cannot be subscripted at run time.
    _TextField = models.TextField[str, str]
else:
    _TextField = models.TextField


class EncryptedTextField(_TextField):
    """Stores Fernet ciphertext; reads give back the plaintext. Not searchable, by design."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        # TextField's preparation gives a string (or None).
        prepared: str | None = super().get_prep_value(value)
        if prepared is None or prepared == "":
            return prepared
        return crypto.encrypt(prepared)
