"""Which kind of OpenID provider the sandbox plays, chosen by `SANDBOX_OIDC_PROFILE`.

- `novacron` (the default): NovaCron's own behaviour. `partner_id` and `partner_role` come with
  `openid` in the ID token and in userinfo, and every authorization code gives a refresh token.
- `plain`: a standard provider, as a relying party meets one elsewhere. The ID token carries only
  the claims OpenID Connect Core §2 registers (no name, email or partner claims); every other claim
  is released by the userinfo endpoint alone. `offline_access` is a scope: the provider ignores it
  unless the request also says `prompt=consent` (OIDC Core §11), and it issues a refresh token only
  when `offline_access` was granted.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from oauth2_provider.scopes import SettingsScopes

NOVACRON = "novacron"
PLAIN = "plain"
OFFLINE_ACCESS = "offline_access"
# OIDC Core §2 and what oauthlib adds to every ID token: nothing about the person but `sub`.
ID_TOKEN_REGISTERED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash", "jti"}
)


def is_plain() -> bool:
    return bool(settings.SANDBOX_OIDC_PROFILE == PLAIN)


def offline_access_honoured(scopes: list[str], prompt: set[str]) -> list[str]:
    """The requested scopes a plain provider acts on: `offline_access` only with `prompt=consent`."""
    if is_plain() and "consent" not in prompt:
        return [scope for scope in scopes if scope != OFFLINE_ACCESS]
    return scopes


def issues_refresh_token(scope: str) -> bool:
    """A plain provider gives a refresh token only for a grant that carries `offline_access`."""
    return not is_plain() or OFFLINE_ACCESS in scope.split()


def id_token_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """What the ID token may carry: everything for NovaCron, the registered claims for a plain provider."""
    if not is_plain():
        return claims
    return {name: value for name, value in claims.items() if name in ID_TOKEN_REGISTERED_CLAIMS}


class ProfileScopes(SettingsScopes):
    """The scopes of `OAUTH2_PROVIDER["SCOPES"]`, with `offline_access` only in the plain profile
    (so NovaCron's discovery does not list it and a request for it is `invalid_scope`)."""

    def get_all_scopes(self) -> dict[str, str]:
        scopes = dict(super().get_all_scopes())
        if not is_plain():
            scopes.pop(OFFLINE_ACCESS, None)
        return scopes

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return list(self.get_all_scopes())
