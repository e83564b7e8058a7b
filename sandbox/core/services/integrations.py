"""Integrations: named per partner (unique), with endpoints and free-form config."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from sandbox.api.errors import Conflict
from sandbox.core.ids import new_id
from sandbox.core.models import Integration, Partner

WRITABLE = ("name", "type", "status", "config", "endpoints")


def integration_create(*, partner: Partner, fields: dict[str, Any]) -> Integration:
    now = timezone.now()
    try:
        with transaction.atomic():
            return Integration.objects.create(
                integration_id=new_id("int_", 8), partner=partner, created_at=now, updated_at=now,
                **{name: fields[name] for name in WRITABLE if name in fields},
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            f"An integration named {fields['name']!r} exists.", details={"name": fields["name"]}
        ) from None


def integration_update(*, integration: Integration, fields: dict[str, Any]) -> Integration:
    for name in WRITABLE:
        if fields.get(name) is not None:
            setattr(integration, name, fields[name])
    integration.updated_at = timezone.now()
    try:
        with transaction.atomic():
            integration.save()
    except IntegrityError:
        raise Conflict(
            f"An integration named {integration.name!r} exists.", details={"name": integration.name}
        ) from None
    return integration


def integration_delete(*, integration: Integration) -> None:
    integration.delete()
