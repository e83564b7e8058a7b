"""Which NovaCron scopes a user's token carries, and the ones a page may ask them to grant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accounts.models import OAuthToken

# Scopes beyond sign-in that an action can ask for, with what they let the portal do for the user.
GRANTABLE_SCOPES: dict[str, str] = {
    "vm:write": "Create, delete, start and stop virtual machines",
    "migration:execute": "Start and cancel migrations",
    "partner:admin": "Manage integrations and webhook subscriptions",
}
# The scopes every sign-in asks for, described for the account page (else it shows "email email").
SIGN_IN_SCOPES: dict[str, str] = {
    "openid": "Sign you in with your NovaCron account",
    "profile": "See your name",
    "email": "See your email address",
    "vm:read": "See your organisation's virtual machines, migrations and quotas",
    # Asked for only when the provider offers it: it is how a standard provider issues a refresh token.
    "offline_access": "Keep your session going without signing in again",
}


def scope_description(scope: str) -> str:
    """What a scope lets the portal do, in words; an unknown scope is shown as itself."""
    return GRANTABLE_SCOPES.get(scope) or SIGN_IN_SCOPES.get(scope) or scope


def user_token(user: Any) -> OAuthToken | None:
    """The user's stored token, or None (anonymous, or never signed in through NovaCron)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    from accounts.models import OAuthToken

    try:
        token: OAuthToken = user.oauth_token
        return token
    except OAuthToken.DoesNotExist:
        return None


def granted_scopes(user: Any) -> list[str]:
    token = user_token(user)
    return list(token.scopes) if token is not None else []


def has_scope(user: Any, scope: str) -> bool:
    """True when the user's NovaCron token was granted `scope` (NovaCron still has the last word)."""
    return scope in granted_scopes(user)


def missing_scopes(user: Any) -> list[str]:
    granted = set(granted_scopes(user))
    return [scope for scope in GRANTABLE_SCOPES if scope not in granted]


def is_grantable(scope: str) -> bool:
    return scope in GRANTABLE_SCOPES
