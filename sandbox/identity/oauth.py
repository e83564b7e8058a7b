"""The sandbox's OAuth2 validator: NovaCron's OIDC claims (or a plain provider's, see
sandbox.identity.profile), consent withdrawn on disconnect, exact redirect URIs for confidential
clients, and a replayed authorization code revoking its tokens."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from oauth2_provider.models import AbstractApplication, get_access_token_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from sandbox.identity.codes import code_replayed, code_spent
from sandbox.identity.consent import consent_withdraw
from sandbox.identity.profile import id_token_claims, issues_refresh_token

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def _partner_id(request: Any) -> str | None:
    return str(request.user.partner_id) if request.user.partner_id else None


class SandboxOAuth2Validator(OAuth2Validator):
    # partner_id and partner_role come with `openid` alone: a client that signs a user in needs to
    # know which partner and role it acts for before it asks for anything else.
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "partner_id": "openid",
        "partner_role": "openid",
    }

    def get_additional_claims(self) -> dict[str, Any]:
        # Request-agnostic form (no request argument): DOT then lists these in claims_supported.
        return {
            "email": lambda request: request.user.email,
            "email_verified": lambda request: True,
            "name": lambda request: request.user.get_full_name() or request.user.email,
            "given_name": lambda request: request.user.first_name,
            "family_name": lambda request: request.user.last_name,
            "partner_id": _partner_id,
            "partner_role": lambda request: request.user.role,
        }

    # prompt=none: the authorize view runs only for a signed-in user (anonymous ones get
    # login_required before this), and it answers consent_required itself, scope by scope.
    def validate_silent_login(self, request: Any) -> bool:
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        return True

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        # DOT lets a loopback redirect URI use any port (RFC 8252 §7.3), which is meant for native
        # apps, i.e. public clients. A confidential client (a web server) gets exact matching.
        client = request.client
        if client.client_type == AbstractApplication.CLIENT_CONFIDENTIAL:
            return redirect_uri in client.redirect_uris.split()
        return bool(super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs))

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            return True
        code_replayed(code=code, application=client)
        return False

    def get_id_token_dictionary(self, token: Any, token_handler: Any, request: Any) -> Any:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        return id_token_claims(claims), expiration_time

    def _save_bearer_token(self, token: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not issues_refresh_token(token.get("scope", "")):
            token.pop("refresh_token", None)  # oauthlib returns this same dict to the client
        saved = super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code":
            request.sandbox_issued_token = dict(token)  # for invalidate_authorization_code, next
        return saved

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        issued = getattr(request, "sandbox_issued_token", None)
        try:
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        except errors.InvalidGrantError:
            # Another exchange of this code got there first: both are treated as a replay.
            code_replayed(code=code, application=request.client, token=issued)
            raise
        if issued is not None:
            code_spent(code=code, application=request.client, token=issued)

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        owner = _token_owner(token, getattr(request.client, "pk", None))
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        # Revoking the last live token is how a client disconnects: the next sign-in asks for
        # consent again instead of silently re-approving what the user had granted.
        if owner is not None and not _has_live_tokens(owner, request.client):
            consent_withdraw(user=owner, application=request.client)


def _token_owner(token: str, application_pk: int | None) -> Any:
    if application_pk is None:
        return None
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    for model in (AccessToken, RefreshToken):
        found = (
            model.objects.select_related("user")
            .filter(token_checksum=checksum, application_id=application_pk)
            .first()
        )
        if found is not None:
            return found.user
    return None


def _has_live_tokens(user: Any, application: Any) -> bool:
    live_access = AccessToken.objects.filter(user=user, application=application, expires__gt=timezone.now())
    live_refresh = RefreshToken.objects.filter(user=user, application=application, revoked__isnull=True)
    return live_access.exists() or live_refresh.exists()
