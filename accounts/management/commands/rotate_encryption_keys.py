"""Re-encrypt every encrypted column with the first key of TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first in TOKEN_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then drop the old keys.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from lib.fields import EncryptedTextField

BATCH_SIZE = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt every EncryptedTextField value with the newest key (the first of TOKEN_ENCRYPTION_KEYS)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            names = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if names:
                count = rotate_model(model, names)
                total += count
                self.stdout.write(f"{model._meta.label}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {total} value(s) re-encrypted with the first key"))


def rotate_model(model: Any, names: list[str]) -> int:
    """Reading decrypts with any configured key; writing encrypts with the first one.

    Rows are locked batch by batch and updated by primary key with only the encrypted columns,
    so a concurrent token refresh either runs before or after, never half-way.
    """
    manager = model._base_manager
    pks = list(manager.order_by("pk").values_list("pk", flat=True))
    rotated = 0
    for start in range(0, len(pks), BATCH_SIZE):
        with transaction.atomic():
            batch = manager.select_for_update().filter(pk__in=pks[start : start + BATCH_SIZE])
            for row in batch.values("pk", *names):
                updates = {name: row[name] for name in names if row[name]}
                if updates:
                    manager.filter(pk=row["pk"]).update(**updates)
                    rotated += len(updates)
    return rotated
