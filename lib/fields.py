"""A text field whose value is encrypted in the database and plain in Python."""

from __future__ import annotations

from typing import Any

from django.db import models

from lib import crypto


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; reads give back the plaintext. Not searchable, by design."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
