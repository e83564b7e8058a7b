"""Sign-in, token storage and refresh, disconnect, and the per-user NovaCron client."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import novacron
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from novacron.errors import APITimeoutError, NovaCronError, OAuthError
from novacron.oauth import Token

from accounts import oauth
from accounts.models import OAuthToken, User
from audit.trail import observe_novacron_response
from lib.logs import correlation_id
from partners.models import Partner

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

logger = logging.getLogger(__name__)


class SessionExpired(Exception):
    """The user's NovaCron tokens are gone or could not be refreshed: they must sign in again.

    Deliberately not a NovaCronError, so a view that catches API errors to show cached data
    still lets this one reach the middleware, which signs the user out.
    """


class UnknownPartner(Exception):
    """The signed-in person's partner is not set up in this portal."""

    def __init__(self, partner_id: str | None) -> None:
        super().__init__(f"partner {partner_id!r} is not set up in this portal")
        self.partner_id = partner_id


@dataclass(frozen=True)
class Claims:
    """What the portal takes from the ID token (or userinfo)."""

    sub: str
    email: str
    name: str
    partner_id: str | None
    partner_role: str | None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Claims:
        if not data.get("sub"):
            raise ValueError("the identity has no subject")
        partner_id = data.get("partner_id")
        return cls(
            sub=str(data["sub"]),
            email=str(data.get("email") or ""),
            name=str(data.get("name") or data.get("preferred_username") or ""),
            partner_id=str(partner_id) if partner_id else None,
            partner_role=str(data["partner_role"]) if data.get("partner_role") else None,
        )


# --- sign-in ---------------------------------------------------------------------------------


def _role(claimed: str | None) -> str:
    return claimed if claimed in User.Role.values else User.Role.VIEWER


@transaction.atomic
def user_sign_in(*, claims: Claims) -> User:
    """The portal user for these claims: created or updated, attached to its partner and role.

    A person whose partner is not set up here gets no account at all (UnknownPartner).
    """
    partner = Partner.objects.filter(partner_id=claims.partner_id).first() if claims.partner_id else None
    if partner is None:
        raise UnknownPartner(claims.partner_id)
    user = User.objects.select_for_update().filter(novacron_sub=claims.sub).first()
    if user is None:
        user = User(novacron_sub=claims.sub, username=f"nc-{claims.sub}"[:150])
        user.set_unusable_password()
    user.email = claims.email
    user.full_name = claims.name
    user.partner = partner
    user.role = _role(claims.partner_role)
    user.save()
    return user


def _expires_at(token: Mapping[str, Any]) -> datetime:
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), tz=UTC)
    return timezone.now() + timedelta(seconds=float(token.get("expires_in") or 3600))


def _scopes(token: Mapping[str, Any], requested: Iterable[str]) -> list[str]:
    granted = token.get("scope")
    if isinstance(granted, str):
        return sorted(set(granted.split()))
    if granted:
        return sorted(set(granted))
    # RFC 6749 §5.1: no `scope` in the answer means exactly the requested ones were granted.
    return sorted(set(requested))


@transaction.atomic
def token_store(*, user: User, token: Mapping[str, Any], requested_scopes: Iterable[str]) -> OAuthToken:
    """Keep the tokens from a code exchange, encrypted; the answer's scopes replace the old ones."""
    values = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token") or "",
        "token_type": str(token.get("token_type") or "Bearer").capitalize(),
        "expires_at": _expires_at(token),
        "scopes": _scopes(token, requested_scopes),
    }
    # A new version, so a refresh that read the old tokens before this sign-in does not overwrite it.
    stored, created = OAuthToken.objects.select_for_update().update_or_create(
        user=user, defaults={**values, "version": F("version") + 1}, create_defaults=values
    )
    if not created:
        stored.refresh_from_db(fields=["version"])
    user.oauth_token = stored  # later reads in this request see the new scopes
    return stored


# --- refresh ---------------------------------------------------------------------------------


def _needs_refresh(token: OAuthToken) -> bool:
    margin = timedelta(seconds=settings.NOVACRON_TOKEN_REFRESH_MARGIN)
    return token.expires_at - timezone.now() <= margin


def _still_wanted(token: OAuthToken, rejected_access_token: str | None) -> bool:
    """Whether this token still needs the refresh that was asked for (else someone did it)."""
    if rejected_access_token is not None:
        return token.access_token == rejected_access_token
    return _needs_refresh(token)


# Refresh tokens rotate at NovaCron and a reused one is refused (and revokes the grant), so one
# refresh per user may be in flight at a time: a per-user lock within the process, and a short
# cache lock (Redis in deployments) across processes. No database lock is held during the HTTP
# call: the new token is written back with a compare-and-swap on `version`.
_refresh_locks: dict[int, threading.Lock] = {}
_refresh_locks_guard = threading.Lock()
REFRESH_LOCK_POLL = 0.05


def _refresh_lock(user_pk: int) -> threading.Lock:
    with _refresh_locks_guard:
        return _refresh_locks.setdefault(user_pk, threading.Lock())


def _refresh_lock_key(user_pk: int) -> str:
    return f"accounts:token-refresh:{user_pk}"


def token_fresh(*, user: User, rejected_access_token: str | None = None) -> OAuthToken:
    """The user's token, refreshed first if it expires within the margin (or NovaCron rejected it).

    Concurrent refreshes of one user make one call to NovaCron: threads of this process wait on a
    per-user lock, other processes on a cache lock, and whoever waited reads the winner's token
    from the database. A refresh NovaCron refuses deletes the tokens and raises SessionExpired.
    """
    current = _token_of(user)
    if not _still_wanted(current, rejected_access_token):
        return current
    with _refresh_lock(user.pk):
        current = _token_of(user)  # another thread may have refreshed while we waited
        if not _still_wanted(current, rejected_access_token):
            return current
        return _refresh_across_processes(user, current, rejected_access_token)


def _token_of(user: User) -> OAuthToken:
    token = OAuthToken.objects.filter(user=user).first()
    if token is None:
        raise SessionExpired("no NovaCron token for this user")
    return token


def _refresh_across_processes(user: User, read: OAuthToken, rejected_access_token: str | None) -> OAuthToken:
    key = _refresh_lock_key(user.pk)
    # Held at most as long as the refresh call may take, so a crashed holder cannot block for long.
    hold = settings.NOVACRON_TIMEOUT + 5
    give_up = time.monotonic() + hold
    owner = uuid.uuid4().hex
    while not cache.add(key, owner, timeout=hold):
        # Another process is refreshing: wait for its token to land (or its lock to go).
        if time.monotonic() > give_up:
            raise APITimeoutError("another refresh of this NovaCron token did not finish in time")
        time.sleep(REFRESH_LOCK_POLL)
        read = _token_of(user)
        if not _still_wanted(read, rejected_access_token):
            return read
    try:
        read = _token_of(user)  # the other process may have finished just before we took the lock
        if not _still_wanted(read, rejected_access_token):
            return read
        return _refresh_and_swap(user, read)
    finally:
        if cache.get(key) == owner:
            cache.delete(key)


def _refresh_and_swap(user: User, read: OAuthToken) -> OAuthToken:
    """Spend `read`'s refresh token at NovaCron (no transaction open) and write back if unchanged."""
    refreshed: Token | None = None
    if read.refresh_token:
        try:
            refreshed = oauth.token_provider().refresh(read.refresh_token)
        except OAuthError as error:
            # invalid_grant (revoked, expired, already used) and the like: the grant is over.
            logger.info("token refresh refused for user %s: %s", user.pk, error)
    if refreshed is None:
        # Only the tokens we read go: a sign-in or refresh that replaced them meanwhile stays.
        if OAuthToken.objects.filter(pk=read.pk, version=read.version).delete()[0]:
            raise SessionExpired("NovaCron refused to refresh the token")
        return _token_of(user)
    fields: dict[str, Any] = {
        "access_token": refreshed.access_token,
        "refresh_token": refreshed.refresh_token or read.refresh_token,
        "expires_at": refreshed.expires_at or timezone.now() + timedelta(hours=1),
        "updated_at": timezone.now(),
    }
    if refreshed.scope:
        fields["scopes"] = sorted(set(refreshed.scope))
    swapped = OAuthToken.objects.filter(pk=read.pk, version=read.version).update(
        version=F("version") + 1, **fields
    )
    if not swapped:
        # Lost the race (a sign-in wrote new tokens while we were at NovaCron): the winner's stand.
        logger.info("token refresh for user %s lost to a newer token; using that one", user.pk)
    return _token_of(user)


# --- the per-user client ---------------------------------------------------------------------


def user_client(*, user: User | AnonymousUser) -> novacron.Client:
    """An SDK client acting as this user with their bearer token, refreshed when near expiry.

    When NovaCron answers 401 invalid_token mid-call, the client asks for a new token once
    (refreshed under the same lock) and retries.
    """
    if not user.is_authenticated:
        raise SessionExpired("not signed in")
    token = token_fresh(user=user)
    partner = user.partner

    def renew() -> str:
        nonlocal token
        token = token_fresh(user=user, rejected_access_token=token.access_token)
        return token.access_token

    options: dict[str, Any] = {}
    if partner is not None:
        from partners.clients import recording_session

        # A person's calls spend the partner's budget too: keep the figures the admin pages show fresh.
        session = recording_session(partner, pool_maxsize=4)
        # The audit log learns NovaCron's answer to a person's write, even when the page catches it.
        session.hooks["response"].append(observe_novacron_response)
        options["session"] = session
    return novacron.Client.with_token(
        settings.NOVACRON_API_URL,
        token.access_token,
        token_provider=renew,
        timeout=settings.NOVACRON_TIMEOUT,
        max_retries=1,
        # One bound for the whole call, retry included: a page waits at most NOVACRON_TIMEOUT
        # before it shows cached data or says NovaCron did not answer.
        deadline=settings.NOVACRON_TIMEOUT,
        partner_id=partner.partner_id if partner is not None else None,
        # A web request should not sleep long waiting for the rate budget: fail and say so.
        max_retry_wait=2.0,
        # NovaCron's logs of this call can then be found by the portal's request id.
        request_id_provider=correlation_id,
        **options,
    )


# --- disconnect ------------------------------------------------------------------------------


def user_disconnect(*, user: User) -> bool:
    """Revoke the user's grant at NovaCron and delete the tokens; True when NovaCron confirmed.

    The local tokens go either way: the person asked to disconnect, and a token we no longer
    hold cannot be used by the portal.
    """
    token = OAuthToken.objects.filter(user=user).first()
    if token is None:
        return True
    revoked = False
    try:
        provider = oauth.token_provider()
        # Revoking the refresh token ends the whole grant (its access tokens too, RFC 7009 §2.1).
        provider.revoke(
            token.refresh_token or token.access_token,
            "refresh_token" if token.refresh_token else "access_token",
        )
        revoked = True
    except (NovaCronError, ValueError, OSError) as error:
        logger.warning("revocation at NovaCron failed for user %s: %s", user.pk, error)
    OAuthToken.objects.filter(user=user).delete()
    return revoked


def user_time_zone_detected(*, user: User, time_zone: str) -> bool:
    """Store the zone the browser reported, unless the person already has one (chosen or detected
    before): True when it was stored. One conditional UPDATE, so two tabs racing store it once."""
    stored = User.objects.filter(pk=user.pk, time_zone="").update(time_zone=time_zone) == 1
    if stored:
        user.time_zone = time_zone
    else:
        user.refresh_from_db(fields=["time_zone"])
    return stored


def user_time_zone_set(*, user: User, time_zone: str) -> None:
    """The person's own choice of zone (the accounts page)."""
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
