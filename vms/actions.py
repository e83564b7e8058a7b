"""Which lifecycle actions apply to a VM for this person, and if not, why not; the same for starting a
migration of it.

NovaCron has the last word (409 for a state conflict, 403 for a role or scope); these rules mirror the
contract so the page disables what would be refused, and says why, instead of spending an API call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts import roles, scopes
from vms.migration_selectors import ConcurrencyQuota, migration_active_list
from vms.models import VM

ACTION_VERBS = {"start": "start", "stop": "stop", "delete": "delete"}


@dataclass(frozen=True)
class VMAction:
    name: str
    label: str
    allowed: bool
    reason: str = ""
    # The person's role allows it but their token lacks vm:write: show the grant link.
    needs_grant: bool = False


def _state_refusal(action: str, vm: VM) -> str:
    status = vm.status
    if status == VM.Status.PROVISIONING and action in ("start", "stop"):
        return "The VM is still provisioning."
    if action == "start" and status != VM.Status.STOPPED:
        cannot_start: dict[str, str] = {
            VM.Status.RUNNING: "A running VM can't be started.",
            VM.Status.MIGRATING: "A migrating VM can't be started.",
        }
        return cannot_start.get(status, f"Only a stopped VM can be started (this one is {status}).")
    if action == "stop" and status != VM.Status.RUNNING:
        cannot_stop: dict[str, str] = {
            VM.Status.STOPPED: "A stopped VM can't be stopped.",
            VM.Status.MIGRATING: "A migrating VM can't be stopped.",
        }
        return cannot_stop.get(status, f"Only a running VM can be stopped (this one is {status}).")
    if action == "delete" and status == VM.Status.MIGRATING:
        return "A migrating VM can't be deleted."
    if action == "delete" and status == VM.Status.DELETED:
        return "The VM is already deleted."
    return ""


def vm_action(user: Any, vm: VM, action: str) -> VMAction:
    label = action.capitalize()
    if not roles.can(user, roles.VM_WRITE):
        role = getattr(user, "role", "") or "none"
        return VMAction(action, label, False, f"Your role ({role}) can't {ACTION_VERBS[action]} VMs.")
    refusal = _state_refusal(action, vm)
    if refusal:
        return VMAction(action, label, False, refusal)
    if not scopes.has_scope(user, roles.VM_WRITE):
        return VMAction(
            action, label, False, "The portal needs your permission to change VMs.", needs_grant=True
        )
    return VMAction(action, label, True)


def vm_actions(user: Any, vm: VM) -> list[VMAction]:
    return [vm_action(user, vm, action) for action in ACTION_VERBS]


def vm_state_actions(vm: VM) -> list[VMAction]:
    """What the VM's state allows, for anyone who may change VMs: the VM page's Actions card.

    The card draws only the controls its viewer may use (`live_controls.usable_controls`; pushed live
    once per variant of them, vms.publishing), says why with `vm_change_refusal`, and every action
    is checked again with `vm_action`.
    """
    actions = []
    for action in ACTION_VERBS:
        refusal = _state_refusal(action, vm)
        actions.append(VMAction(action, action.capitalize(), not refusal, refusal))
    return actions


def vm_change_refusal(user: Any) -> tuple[str, bool]:
    """Why this person can't start, stop or delete VMs ("" when they can), and whether a grant would fix it."""
    if not roles.can(user, roles.VM_WRITE):
        return f"Your role ({getattr(user, 'role', '') or 'none'}) can't start, stop or delete VMs.", False
    if not scopes.has_scope(user, roles.VM_WRITE):
        return "The portal needs your permission to start, stop or delete VMs.", True
    return "", False


# NovaCron migrates only a running or stopped VM (409 otherwise).
MIGRATABLE = (VM.Status.RUNNING, VM.Status.STOPPED)


def vm_can_migrate(vm: VM) -> bool:
    """The VM's state lets it be migrated (who may start one is `migration_start_refusal`'s question)."""
    return vm.status in MIGRATABLE


def create_refusal(user: Any) -> tuple[str, bool]:
    """Why this person can't create VMs ("" when they can), and whether a grant would fix it."""
    if not roles.can(user, roles.VM_WRITE):
        return f"Your role ({getattr(user, 'role', '') or 'none'}) can't create VMs.", False
    if not scopes.has_scope(user, roles.VM_WRITE):
        return "The portal needs your permission to create VMs.", True
    return "", False


def migration_start_refusal(
    user: Any, vm: VM, *, quota: ConcurrencyQuota, has_target: bool
) -> tuple[str, bool]:
    """Why this person can't migrate this VM now ("" when they can), and whether a grant is missing.

    `has_target`: there is another cluster to migrate to.
    """
    if not roles.can(user, roles.MIGRATION_EXECUTE):
        return roles.refusal_reason(user, roles.MIGRATION_EXECUTE), False
    if vm.status == VM.Status.MIGRATING or migration_active_list(partner=vm.partner, vm_id=vm.vm_id).exists():
        return "This VM is already migrating.", False
    if vm.status not in (VM.Status.RUNNING, VM.Status.STOPPED):
        return f"A VM that is {vm.status} cannot be migrated.", False
    if quota.exhausted:
        return (
            f"All {quota.limit} concurrent migrations of your partner are in use; wait for one to finish.",
            False,
        )
    if not has_target:
        return "There is no other cluster to migrate to (clusters are synced from NovaCron).", False
    return "", not scopes.has_scope(user, "migration:execute")


def migration_needs_grant(user: Any) -> bool:
    """The person's role may migrate VMs but their token lacks migration:execute: offer the grant."""
    return roles.can(user, roles.MIGRATION_EXECUTE) and not scopes.has_scope(user, "migration:execute")


def vm_state_refusal(action: str, vm: VM) -> str:
    """Why the VM's state refuses `action` (start, stop, delete), or "": the bulk jobs' eligibility."""
    return _state_refusal(action, vm)
