"""VM lifecycle through the person's own NovaCron client, and the cache kept up to date from the answers.

The client is the user's (`request.novacron`), so NovaCron itself authorizes every change; the cache
is written from NovaCron's response at once, and again later by the webhook or the sync.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from novacron.errors import InsufficientScopeError, NovaCronError, QuotaExceededError, UnauthorizedError

from partners import reachability
from partners.models import Partner
from vms import selectors
from vms.cache import forget_vm, store_vm
from vms.models import VM
from vms.quota_gauges import quota_refresh_soon

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
    except NovaCronError as error:
        if reachability.is_outage(error):
            reachability.novacron_unreachable(partner_pk=partner.pk)
        raise
    return vm_cache_store(partner=partner, vm=remote)


# The API calls stay outside any transaction: on SQLite a transaction holds the write lock.


# `idempotency_key`: the form's own key, so a double click or a retried POST acts once at NovaCron.


def vm_start(
    *, partner: Partner, client: novacron.Client, vm_id: str, idempotency_key: str | None = None
) -> VM | None:
    return vm_cache_store(partner=partner, vm=client.start_vm(vm_id, idempotency_key=idempotency_key))


def vm_stop(
    *, partner: Partner, client: novacron.Client, vm_id: str, idempotency_key: str | None = None
) -> VM | None:
    return vm_cache_store(partner=partner, vm=client.stop_vm(vm_id, idempotency_key=idempotency_key))


def vm_delete(
    *, partner: Partner, client: novacron.Client, vm_id: str, idempotency_key: str | None = None
) -> None:
    """A DELETE carries no Idempotency-Key (NovaCron honours it on POST only): it is idempotent by its
    nature, and the repeat of a delete (a double click) finding the VM gone is what was asked.
    `idempotency_key` is taken so the three lifecycle actions share one signature."""
    from novacron.errors import NotFoundError

    with contextlib.suppress(NotFoundError):
        client.delete_vm(vm_id)  # NovaCron keeps a tombstone; the cache just drops the row
    forget_vm(partner=partner, vm_id=vm_id)
    quota_refresh_soon(partner_pk=partner.pk)


def vm_create(
    *, partner: Partner, client: novacron.Client, spec: Mapping[str, Any], idempotency_key: str | None = None
) -> VM | None:
    """Create at NovaCron; the same `idempotency_key` again (the form posted twice) creates no second VM."""
    created = client.create_vm(dict(spec), idempotency_key=idempotency_key)
    stored = vm_cache_store(partner=partner, vm=created)
    quota_refresh_soon(partner_pk=partner.pk)  # the open overviews' "VMs created today" card
    return stored


def vm_stored_age_seconds(vm: VM) -> float:
    return (timezone.now() - vm.synced_at).total_seconds()


def api_failure_message(error: NovaCronError) -> str:
    """What a page says when NovaCron refused or failed: its message for a refusal, else that it is down."""
    return error.message if error.status and error.status < 500 else "NovaCron is unreachable right now."


def _next_utc_midnight() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def vm_create_quota(*, partner: Partner, client: novacron.Client) -> dict[str, Any]:
    """NovaCron's answer to "may we create one more VM?", with when the daily quota resets.

    When NovaCron cannot answer, creating stays allowed (NovaCron refuses it itself if need be); signing
    in again and granting a scope are left to the middleware.
    """
    cached = selectors.quota_get(partner=partner, name="vm_create_per_day")
    reset_at = cached.reset_at if cached and cached.reset_at else _next_utc_midnight()
    try:
        check = client.check_quota("vm-create", 1)
    except (UnauthorizedError, InsufficientScopeError):
        raise
    except NovaCronError as error:
        return {"known": False, "allowed": True, "error": api_failure_message(error), "reset_at": reset_at}
    return {
        "known": True,
        "allowed": check.allowed,
        "limit": check.limit,
        "used": check.used,
        "remaining": check.remaining,
        "reset_at": reset_at,
    }


def vm_create_quota_refused(*, error: QuotaExceededError, quota: dict[str, Any]) -> dict[str, Any]:
    """The quota as NovaCron's refusal of a create states it."""
    reset = error.details.get("reset_at")
    return {
        **quota,
        "known": True,
        "allowed": False,
        "limit": error.limit,
        "used": error.used,
        "reset_at": datetime.fromisoformat(reset.replace("Z", "+00:00"))
        if isinstance(reset, str)
        else quota["reset_at"],
    }
