"""Who may create, cancel or retry a job of each kind: exactly the single-VM actions' rules."""

from __future__ import annotations

from typing import Any

from accounts import roles, scopes
from vms.actions import vm_change_refusal


def job_refusal(user: Any, kind: str) -> tuple[str, bool]:
    """Why this person can't run a job of `kind` ("" when they can), and whether a grant would fix it."""
    if kind == "migrate":
        if not roles.can(user, roles.MIGRATION_EXECUTE):
            return roles.refusal_reason(user, roles.MIGRATION_EXECUTE), False
        if not scopes.has_scope(user, roles.MIGRATION_EXECUTE):
            return "The portal needs your permission to start migrations.", True
        return "", False
    return vm_change_refusal(user)
