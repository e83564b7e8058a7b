"""VM lifecycle through the person's own NovaCron client, and the cache kept up to date from the answers.

The client is the user's (`request.novacron`), so NovaCron itself authorizes every change; the cache
is written from NovaCron's response at once, and again later by the webhook or the sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from partners.models import Partner
from vms.cache import store_vms
from vms.models import VM

if TYPE_CHECKING:
    import novacron
    from novacron.models import VM as ApiVM


@transaction.atomic
def vm_cache_store(*, partner: Partner, vm: ApiVM) -> VM | None:
    """Write one VM as NovaCron returned it; None when NovaCron says it is deleted."""
    store_vms(partner=partner, vms=[vm])
    return VM.objects.filter(partner=partner, vm_id=vm.vm_id).first()


def vm_refresh(*, partner: Partner, client: novacron.Client, vm_id: str) -> VM | None:
    """The VM as NovaCron has it now, stored in the cache; None (and the row gone) when it no longer exists."""
    from novacron.errors import NotFoundError

    try:
        remote = client.get_vm(vm_id)
    except NotFoundError:
        VM.objects.filter(partner=partner, vm_id=vm_id).delete()
        return None
    return vm_cache_store(partner=partner, vm=remote)


# The API calls stay outside any transaction: on SQLite a transaction holds the write lock.


def vm_start(*, partner: Partner, client: novacron.Client, vm_id: str) -> VM | None:
    return vm_cache_store(partner=partner, vm=client.start_vm(vm_id))


def vm_stop(*, partner: Partner, client: novacron.Client, vm_id: str) -> VM | None:
    return vm_cache_store(partner=partner, vm=client.stop_vm(vm_id))


def vm_delete(*, partner: Partner, client: novacron.Client, vm_id: str) -> None:
    client.delete_vm(vm_id)  # NovaCron keeps a tombstone; the cache just drops the row
    VM.objects.filter(partner=partner, vm_id=vm_id).delete()


def vm_create(*, partner: Partner, client: novacron.Client, spec: Mapping[str, Any]) -> VM | None:
    created = client.create_vm(dict(spec))
    return vm_cache_store(partner=partner, vm=created)


def vm_stored_age_seconds(vm: VM) -> float:
    return (timezone.now() - vm.synced_at).total_seconds()

