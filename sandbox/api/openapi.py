"""The OpenAPI document names both ways in: partner HMAC headers, or an OAuth 2.0 bearer token.

`PartnerAuth` accepts either on every operation, but django-ninja declares one scheme per auth
class. The document here adds the OAuth 2.0 alternative, with the scope the operation needs, so
generated clients and the docs UI offer both. Authentication itself is unchanged.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.urls import reverse
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from sandbox.api.auth import PartnerAuth

OAUTH_SCHEME = "OAuth2"


def oauth_security_scheme() -> dict[str, Any] | None:
    """The sandbox authorization server as an OpenAPI scheme; None when the identity app is absent.

    The URLs are relative: the issuer follows whatever host and port the sandbox is reached on, and
    OpenAPI 3.1 resolves relative URLs against the server the document came from.
    """
    if not apps.is_installed("sandbox.identity"):
        return None  # without it no bearer token is valid, so the document must not offer one
    from sandbox.identity.scopes import API_SCOPES, SCOPE_DESCRIPTIONS

    token_url = reverse("oauth2_provider:token")
    return {
        "type": "oauth2",
        "description": "Authorization code with PKCE (S256) at the sandbox authorization server.",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": reverse("oauth2_provider:authorize"),
                "tokenUrl": token_url,
                "refreshUrl": token_url,
                "scopes": {scope: SCOPE_DESCRIPTIONS[scope] for scope in API_SCOPES},
            }
        },
    }


class PartnerOpenAPISchema(OpenAPISchema):
    def operation_security(self, operation: Operation) -> list[dict[str, Any]] | None:
        security = super().operation_security(operation)
        scopes = sorted({auth.scope for auth in operation.auth_callbacks if isinstance(auth, PartnerAuth)})
        scheme = oauth_security_scheme() if scopes else None
        if security is None or scheme is None:
            return security
        self.securitySchemes[OAUTH_SCHEME] = scheme
        # A list of requirements means "any one of": HMAC headers or a token holding the scope.
        return [*security, {OAUTH_SCHEME: scopes}]


class PartnerNinjaAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return PartnerOpenAPISchema(self, path_prefix)
