"""Bearer authentication for the Partner API: an access token → the user, partner, role and scopes.

The API decides what the principal may do (scope and role checks); this only says who it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749.tokens import get_token_from_header

if TYPE_CHECKING:
    from django.http import HttpRequest

    from sandbox.core.models import Partner
    from sandbox.identity.models import User


class InvalidToken(Exception):
    """The bearer token is unknown, expired or revoked, or its user can no longer act for a partner."""


@dataclass(frozen=True)
class BearerPrincipal:
    user: User
    partner: Partner
    role: str
    scopes: set[str]


def authenticate_bearer(request: HttpRequest) -> BearerPrincipal | None:
    """The principal behind `Authorization: Bearer …`; None when the request carries no bearer token."""
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith("bearer"):
        return None
    oauth_request = OAuthlibRequest(
        request.build_absolute_uri(),
        # Whatever method Django accepted; the stubs list only the standard ones.
        http_method=request.method,  # type: ignore[arg-type]
        headers={"Authorization": authorization},
    )
    token = get_token_from_header(oauth_request)
    if not token:
        raise InvalidToken("The Authorization header has no token.")
    # DOT's validator: looks the token up by checksum, checks expiry, revocation and audience.
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    if not validator.validate_bearer_token(token, [], oauth_request):
        raise InvalidToken("The access token is unknown, expired or revoked.")
    user = oauth_request.user
    if user is None or not user.is_active:
        raise InvalidToken("The token's user is disabled.")
    if user.partner_id is None:
        raise InvalidToken("The token's user acts for no partner.")
    return BearerPrincipal(
        user=user, partner=user.partner, role=user.role, scopes=set(oauth_request.scopes or ())
    )
