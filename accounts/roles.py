"""What each partner role may do, on top of the scopes the user granted.

NovaCron enforces the same table on its side (403 `forbidden`); the portal checks it first so the UI
offers only what the role allows and a refused action never costs an API call. Actions are named
after the scopes that guard them, so `can(user, "vm:write")` reads like the API's own rule.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

READ = "vm:read"
VM_WRITE = "vm:write"
MIGRATION_EXECUTE = "migration:execute"
PARTNER_ADMIN = "partner:admin"

ACTIONS: frozenset[str] = frozenset({READ, VM_WRITE, MIGRATION_EXECUTE, PARTNER_ADMIN})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": ACTIONS,
    "operator": frozenset({READ, VM_WRITE, MIGRATION_EXECUTE}),
    "viewer": frozenset({READ}),
}

# Why a refusal happened, in the words the 403 page shows.
ACTION_NAMES: dict[str, str] = {
    READ: "view this partner's data",
    VM_WRITE: "create, start, stop or delete VMs",
    MIGRATION_EXECUTE: "start or cancel migrations",
    PARTNER_ADMIN: "manage integrations and webhooks",
}


def can(user: Any, action: str) -> bool:
    """True when the user's partner role allows the action (scopes are checked separately)."""
    if action not in ACTIONS:
        # A typo in a template or decorator must fail loudly, not silently hide a button.
        raise ValueError(f"unknown action {action!r}; expected one of {sorted(ACTIONS)}")
    if user is None or not user.is_authenticated or getattr(user, "partner_id", None) is None:
        return False
    return action in ROLE_ACTIONS.get(user.role, frozenset())


def refusal_reason(user: Any, action: str) -> str:
    role = getattr(user, "role", "") or "no"
    allowed_roles = sorted(role_name for role_name, actions in ROLE_ACTIONS.items() if action in actions)
    return (
        f"Your role ({role}) does not allow you to {ACTION_NAMES[action]}. "
        f"Ask a partner admin: this needs the role {' or '.join(allowed_roles)}."
    )


def role_required(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse the view with a 403 page saying why, unless the user's role allows `action`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(request.user, action):
                context = {"action": action, "reason": refusal_reason(request.user, action)}
                return render(request, "roles/forbidden.html", context, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
