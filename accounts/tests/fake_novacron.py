"""A fake NovaCron authorization server for unit tests, answered by `responses`.

It serves discovery and JWKS like the real issuer, and signs ID tokens (RS256) with a test key,
so the portal's real Authlib flow runs end to end without a server.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from joserfc import jwt
from joserfc.jwk import RSAKey

ISSUER = "http://127.0.0.1:9/oauth"
API_URL = "http://127.0.0.1:9"
CLIENT_ID = "portal-test-client"
CLIENT_SECRET = "portal-test-secret"
TOKEN_URL = ISSUER + "/token/"
REVOKE_URL = ISSUER + "/revoke_token/"
USERINFO_URL = ISSUER + "/userinfo/"

_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key"}, private=True)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Authorization:
    """What the portal put in the authorize URL."""

    state: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    scope: list[str]
    redirect_uri: str

    @classmethod
    def from_location(cls, location: str) -> Authorization:
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        return cls(
            state=query["state"],
            nonce=query.get("nonce", ""),
            code_challenge=query["code_challenge"],
            code_challenge_method=query["code_challenge_method"],
            scope=query["scope"].split(),
            redirect_uri=query["redirect_uri"],
        )


@dataclass
class FakeNovaCron:
    mock: responses.RequestsMock
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def id_token(
        self,
        *,
        nonce: str,
        sub: str,
        partner_id: str | None,
        role: str = "admin",
        email: str = "admin@acme.example",
        name: str = "Ada Admin",
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": email,
            "name": name,
            "partner_role": role,
        }
        if partner_id:
            claims["partner_id"] = partner_id
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, _KEY)

    def answer_code_exchange(
        self,
        *,
        nonce: str,
        sub: str = "user-1",
        partner_id: str | None = "partner-acme",
        role: str = "admin",
        scope: str = "openid profile email vm:read",
        access_token: str = "access-1",
        refresh_token: str = "refresh-1",
        email: str = "admin@acme.example",
    ) -> None:
        body = {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": scope,
            "id_token": self.id_token(nonce=nonce, sub=sub, partner_id=partner_id, role=role, email=email),
        }
        self.mock.add_callback(responses.POST, TOKEN_URL, callback=self._recording(200, body))

    def answer_code_exchange_as_standard_provider(
        self, *, id_token_claims: dict[str, Any], userinfo: dict[str, Any] | None, scope: str = "openid"
    ) -> None:
        """A code exchange whose ID token carries only `id_token_claims` (plus iss, aud, iat, exp and
        the nonce) and, unless `userinfo` is None, a userinfo endpoint answering `userinfo`."""
        now = int(time.time())
        registered = {"iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 300}
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, {**registered, **id_token_claims}, _KEY)
        body = {"access_token": "access-1", "token_type": "Bearer", "expires_in": 3600, "scope": scope}
        self.mock.add_callback(
            responses.POST, TOKEN_URL, callback=self._recording(200, {**body, "id_token": id_token})
        )
        if userinfo is not None:
            self.mock.add(responses.GET, USERINFO_URL, json=userinfo)

    def answer_token_error(self, error: str = "invalid_grant", status: int = 400) -> None:
        self.mock.add_callback(responses.POST, TOKEN_URL, callback=self._recording(status, {"error": error}))

    def _recording(self, status: int, body: dict[str, Any]) -> Any:
        import json

        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            self.token_requests.append({k: v[0] for k, v in parse_qs(request.body).items()})
            return status, {"Content-Type": "application/json"}, json.dumps(body)

        return callback


def discovery_document() -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/authorize/",
        "token_endpoint": TOKEN_URL,
        "revocation_endpoint": REVOKE_URL,
        "userinfo_endpoint": USERINFO_URL,
        "jwks_uri": ISSUER + "/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }


def install(mock: responses.RequestsMock) -> FakeNovaCron:
    mock.add(responses.GET, ISSUER + "/.well-known/openid-configuration", json=discovery_document())
    mock.add(responses.GET, ISSUER + "/.well-known/jwks.json", json={"keys": [_KEY.as_dict(private=False)]})
    return FakeNovaCron(mock)
