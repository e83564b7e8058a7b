"""OAuth 2.0 authorization code flow with PKCE (S256), like the reference's ``NewOAuthProvider``."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

import requests

from ._serde import Model
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, NovaCronError, OAuthError

DEFAULT_SCOPES = ("openid", "profile", "email", "vm:read")


def code_challenge(code_verifier: str) -> str:
    """The S256 PKCE challenge: unpadded base64url of SHA-256 of the verifier."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class OAuthConfig:
    client_id: str
    client_secret: str | None
    redirect_url: str
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_SCOPES))
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    revocation_endpoint: str | None = None
    issuer: str | None = None
    userinfo_endpoint: str | None = None

    @classmethod
    def from_issuer(
        cls,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_url: str,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> OAuthConfig:
        """Endpoints from the issuer's ``/.well-known/openid-configuration``."""
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = _call(session or requests.Session(), "GET", url, timeout=timeout)
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            redirect_url=redirect_url,
            scopes=list(scopes),
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            revocation_endpoint=document.get("revocation_endpoint"),
            issuer=document.get("issuer", issuer),
            userinfo_endpoint=document.get("userinfo_endpoint"),
        )


@dataclass
class AuthorizationRequest:
    """Where to send the browser, and what to keep in the session for the callback."""

    url: str
    state: str
    code_verifier: str
    nonce: str | None = None


@dataclass
class Token(Model):
    access_token: str = ""
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scope: list[str] = field(default_factory=list)
    id_token: str | None = None
    token_type: str = "Bearer"

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """True when the token is (or will be within ``seconds``) past its expiry."""
        if self.expires_at is None:
            return False
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds() <= seconds


class OAuthProvider:
    def __init__(
        self,
        config: OAuthConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.config = config
        self._session = session or requests.Session()
        self._clock = clock
        self._timeout = timeout

    def authorization_url(
        self, scopes: Sequence[str] | None = None, state: str | None = None, nonce: str | None = None
    ) -> AuthorizationRequest:
        chosen = list(scopes if scopes is not None else self.config.scopes)
        state = state or secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43..128
        if nonce is None and "openid" in chosen:
            nonce = secrets.token_urlsafe(24)
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_url,
            "scope": " ".join(chosen),
            "state": state,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if nonce:
            query["nonce"] = nonce
        separator = "&" if "?" in self.config.authorization_endpoint else "?"
        url = f"{self.config.authorization_endpoint}{separator}{urlencode(query, quote_via=quote_plus)}"
        return AuthorizationRequest(url=url, state=state, code_verifier=verifier, nonce=nonce)

    def exchange_code(self, code: str, code_verifier: str) -> Token:
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.redirect_url,
                "code_verifier": code_verifier,
            }
        )

    def refresh(self, refresh_token: str) -> Token:
        """A new token; the old refresh token is kept when the server does not rotate it."""
        token = self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        if token.refresh_token is None:
            token.refresh_token = refresh_token
        return token

    def revoke(self, token: str, token_type_hint: str = "refresh_token") -> None:  # noqa: S107
        if not self.config.revocation_endpoint:
            raise ValueError("the authorization server has no revocation endpoint")
        self._post(self.config.revocation_endpoint, {"token": token, "token_type_hint": token_type_hint})

    def _token(self, form: dict[str, str]) -> Token:
        body = self._post(self.config.token_endpoint, form)
        if not body or "access_token" not in body:
            raise OAuthError("the token endpoint answered without an access_token", code="invalid_response")
        expires_in = body.get("expires_in")
        expires_at = (
            datetime.fromtimestamp(self._clock() + float(expires_in), tz=UTC)
            if expires_in is not None
            else None
        )
        scope = body.get("scope")
        return Token(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expires_at,
            scope=scope.split() if isinstance(scope, str) else list(scope or []),
            id_token=body.get("id_token"),
            token_type=body.get("token_type", "Bearer"),
        )

    def _post(self, url: str, form: dict[str, str]) -> Any:
        headers = {}
        if self.config.client_secret:
            # RFC 6749 §2.3.1: form-encode the id and secret before the Basic encoding.
            pair = f"{quote_plus(self.config.client_id)}:{quote_plus(self.config.client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form = {**form, "client_id": self.config.client_id}
        return _call(self._session, "POST", url, data=form, headers=headers, timeout=self._timeout)


def _call(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    all_headers = {
        "Accept": "application/json",
        "User-Agent": f"novacron-partner-sdk/{__version__}",
        **(headers or {}),
    }
    try:
        response = session.request(method, url, data=data, headers=all_headers, timeout=timeout)
    except requests.Timeout as exc:
        raise APITimeoutError(f"no response from {url} within {timeout}s") from exc
    except requests.RequestException as exc:
        raise APIConnectionError(f"could not reach {url}: {exc}") from exc
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        error = body if isinstance(body, dict) else {}
        code = error.get("error") if isinstance(error.get("error"), str) else None
        message = error.get("error_description") or code or f"{method} {url} answered {response.status_code}"
        cls = OAuthError if response.status_code in (400, 401) else NovaCronError
        raise cls(str(message), status=response.status_code, code=code, headers=response.headers)
    return body
