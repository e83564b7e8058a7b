"""VM lifecycle through the person's own NovaCron client, and the cache kept up to date from the answers.

The client is the user's (`request.novacron`), so NovaCron itself authorizes every change; the cache
is written from NovaCron's response at once, and again later by the webhook or the sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from partners.models import Partner
from vms.cache import forget_vm, store_vm
from vms.models import VM

if TYPE_CHECKING:
    import novacron
    from novacron.models import VM as ApiVM


def vm_cache_store(*, partner: Partner, vm: ApiVM) -> VM | None:
    """Write one VM as NovaCron returned it (unless the cache holds a newer one); None when it is deleted."""
    return store_vm(partner=partner, vm=vm).vm


def vm_refresh(*, partner: Partner, client: novacron.Client, vm_id: str) -> VM | None:
    """The VM as NovaCron has it now, stored in the cache; None (and the row gone) when it no longer exists."""
    from novacron.errors import NotFoundError

    try:
        remote = client.get_vm(vm_id)
    except NotFoundError:
        forget_vm(partner=partner, vm_id=vm_id)
        return None
    return vm_cache_store(partner=partner, vm=remote)


# The API calls stay outside any transaction: on SQLite a transaction holds the write lock.


def vm_start(*, partner: Partner, client: novacron.Client, vm_id: str) -> VM | None:
    return vm_cache_store(partner=partner, vm=client.start_vm(vm_id))


def vm_stop(*, partner: Partner, client: novacron.Client, vm_id: str) -> VM | None:
    return vm_cache_store(partner=partner, vm=client.stop_vm(vm_id))


def vm_delete(*, partner: Partner, client: novacron.Client, vm_id: str) -> None:
    client.delete_vm(vm_id)  # NovaCron keeps a tombstone; the cache just drops the row
    forget_vm(partner=partner, vm_id=vm_id)


def vm_create(*, partner: Partner, client: novacron.Client, spec: Mapping[str, Any]) -> VM | None:
    created = client.create_vm(dict(spec))
    return vm_cache_store(partner=partner, vm=created)


def vm_stored_age_seconds(vm: VM) -> float:
    return (timezone.now() - vm.synced_at).total_seconds()

