"""What operators do to a partner from the Django admin: check its credentials, sync it now."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from novacron.errors import NovaCronError

from partners.clients import partner_client
from partners.models import Partner


@dataclass(frozen=True)
class ConnectionCheck:
    partner: Partner
    ok: bool
    detail: str


def partner_connection_test(*, partner: Partner) -> ConnectionCheck:
    """Call NovaCron with the partner's HMAC credentials and say what came back."""
    try:
        with partner_client(partner) as client:
            remote = client.get_partner()
    except ValueError as exc:  # no credentials stored
        return ConnectionCheck(partner, False, str(exc))
    except NovaCronError as exc:
        return ConnectionCheck(partner, False, str(exc))
    detail = f"NovaCron knows it as {remote.name} ({remote.tier}, {remote.status})"
    return ConnectionCheck(partner, True, detail)


def partner_sync_enqueue(*, partner: Partner) -> None:
    """Queue the partner's sync (partner and quotas, then VMs since the last watermark)."""
    from vms.tasks import sync_partner, sync_vms_incremental

    partner_pk = partner.pk
    transaction.on_commit(lambda: sync_partner.delay(partner_pk))
    transaction.on_commit(lambda: sync_vms_incremental.delay(partner_pk))
