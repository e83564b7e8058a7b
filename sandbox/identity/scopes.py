"""The scopes the sandbox grants, what they mean in plain words, and which roles may hold them.

The Partner API enforces the role again on every call (403 `forbidden`); here the role decides
what a user can consent to at all, so a viewer's token never carries a write scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.identity.models import User

IDENTITY_SCOPES = ("openid", "profile", "email")
API_SCOPES = ("vm:read", "vm:write", "migration:execute", "partner:admin")

# Shown on the consent screen, so they speak to the person, not to a developer.
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "openid": "Confirm who you are when you sign in",
    "profile": "See your name",
    "email": "See your email address",
    "vm:read": "See your organisation's virtual machines, clusters, migrations, metrics and quotas",
    "vm:write": "Create, start, stop and delete virtual machines, and send custom metrics",
    "migration:execute": "Start and cancel live migrations of virtual machines",
    "partner:admin": "Manage your organisation's integrations and webhook subscriptions",
    # Offered by the plain provider profile only (sandbox.identity.profile).
    "offline_access": "Stay connected while you are away (the application may renew its access)",
}

# The contract: a viewer only reads; an operator also changes VMs and runs migrations; an admin has all.
ROLE_API_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"vm:read"}),
    "operator": frozenset({"vm:read", "vm:write", "migration:execute"}),
    "admin": frozenset(API_SCOPES),
}


def scopes_allowed_for(user: User) -> frozenset[str]:
    """Every scope this user may consent to: identity always (and `offline_access` when the plain
    profile offers it); API scopes by role, only within a partner."""
    from sandbox.identity.profile import OFFLINE_ACCESS, is_plain

    identity = frozenset(IDENTITY_SCOPES) | ({OFFLINE_ACCESS} if is_plain() else set())
    if user.partner_id is None:
        return identity
    return identity | ROLE_API_SCOPES.get(user.role, frozenset())
