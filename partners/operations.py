"""What operators do to a partner from the Django admin: check its credentials, sync it now."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import transaction
from novacron.errors import NovaCronError

from partners.clients import partner_client
from partners.models import Partner

# vms.tasks: the partner and its quotas, then its VMs changed since the last sync.
SYNC_TASKS = ("vms.sync_partner", "vms.sync_vms_incremental")


@dataclass(frozen=True)
class ConnectionCheck:
    partner: Partner
    ok: bool
    detail: str


def partner_connection_test(*, partner: Partner) -> ConnectionCheck:
    """Call NovaCron with the partner's HMAC credentials and say what came back."""
    try:
        # An operator waits on this admin page: the page's deadline, not the sync's.
        with partner_client(partner, deadline=settings.NOVACRON_TIMEOUT) as client:
            remote = client.get_partner()
    except ValueError as exc:  # no credentials stored
        return ConnectionCheck(partner, False, str(exc))
    except NovaCronError as exc:
        return ConnectionCheck(partner, False, str(exc))
    detail = f"NovaCron knows it as {remote.name} ({remote.tier}, {remote.status})"
    return ConnectionCheck(partner, True, detail)


def partner_sync_enqueue(*, partner: Partner) -> None:
    """Queue the partner's sync (partner and quotas, then VMs since the last watermark).

    By task name from Celery's registry: the sync is the vms app's, which sits above partners and may
    not be imported here (VmsConfig.ready loads vms.tasks, so the names are registered).
    """
    for task_name in SYNC_TASKS:
        transaction.on_commit(partial(_delay, task_name, partner.pk))


def _delay(task_name: str, partner_pk: int) -> None:
    current_app.tasks[task_name].delay(partner_pk)
