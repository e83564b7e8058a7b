"""The one place a request is sent: rate limiting, signing, retries, error mapping.

Order per attempt: wait for the client-side token bucket and the server's budget, sign with a
fresh timestamp, send, map the response. Retries wrap all of it, so every attempt is signed anew,
while a POST keeps the ``Idempotency-Key`` it was given on the first attempt, and every call keeps
the ``X-Request-ID`` the caller's ``request_id_provider`` gave it.

A ``deadline`` in the config bounds the whole call: no attempt (nor wait before one) starts once it
has passed, and each attempt's socket timeout is cut to the time left, so a caller waits at most
``deadline`` (plus the time to notice) whatever ``max_retries`` says.

Each attempt is logged on ``novacron.http`` at INFO, with NovaCron's own request id, so one line
ties a call to both sides' logs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from ._serde import encode
from ._version import __version__
from .config import SDKConfig
from .errors import (
    APIConnectionError,
    APITimeoutError,
    DeadlineExceededError,
    NovaCronError,
    UnauthorizedError,
    error_from_response,
)
from .models import RateLimitInfo
from .ratelimit import ServerBudget, TokenBucket
from .retry import RetryPolicy
from .signing import partner_headers

logger = logging.getLogger("novacron")
call_logger = logging.getLogger("novacron.http")

USER_AGENT = f"novacron-partner-sdk/{__version__}"
Params = Mapping[str, Any] | Sequence[tuple[str, str]] | None
# Returns the id of whatever the caller is doing (a web request, a job), or None for no header.
RequestIdProvider = Callable[[], str | None]


class Auth(Protocol):
    def headers(self, method: str, path: str, now: float) -> dict[str, str]: ...

    def refresh(self, rejected: Mapping[str, str]) -> bool:
        """Renew credentials after a 401; True when a new attempt is worth making."""
        ...


class HMACAuth:
    """Partner HMAC: four headers, the signature over ``METHOD:PATH:TIMESTAMP`` (PATH decoded)."""

    def __init__(self, partner_id: str, api_key: str, api_secret: str) -> None:
        self.partner_id, self._api_key, self._api_secret = partner_id, api_key, api_secret

    def headers(self, method: str, path: str, now: float) -> dict[str, str]:
        return partner_headers(
            method=method,
            path=path,
            timestamp=int(now),
            partner_id=self.partner_id,
            api_key=self._api_key,
            api_secret=self._api_secret,
        )

    def refresh(self, rejected: Mapping[str, str]) -> bool:
        return False  # a rejected HMAC key stays rejected


class BearerAuth:
    """A user's OAuth access token, renewed through ``token_provider`` when the server says so."""

    def __init__(self, access_token: str, token_provider: Callable[[], str] | None = None) -> None:
        self._token = access_token
        self._provider = token_provider
        self._lock = threading.Lock()

    def headers(self, method: str, path: str, now: float) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self, rejected: Mapping[str, str]) -> bool:
        if self._provider is None:
            return False
        sent = rejected.get("Authorization", "")
        with self._lock:
            # Another thread may have renewed it while this request was in flight.
            if sent == f"Bearer {self._token}":
                self._token = self._provider()
        return True


def pooled_session(pool_maxsize: int) -> requests.Session:
    """One session whose connection pool is shared by every thread using the client."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Transport:
    def __init__(
        self,
        config: SDKConfig,
        auth: Auth,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        request_id_provider: RequestIdProvider | None = None,
    ) -> None:
        self.config = config
        self.auth = auth
        self.session = session or pooled_session(config.pool_maxsize)
        self._clock, self._sleep, self._monotonic = clock, sleep, monotonic
        self._request_id_provider = request_id_provider
        self._root = config.api_root
        self._base_path = urlsplit(self._root).path
        self.bucket = TokenBucket(config.rate_limit_rps, clock=monotonic, sleep=sleep)
        self.budget = ServerBudget(clock=clock, max_wait=config.max_retry_wait)
        self.retry = RetryPolicy(
            max_retries=config.max_retries,
            backoff_base=config.backoff_base,
            backoff_max=config.backoff_max,
            max_wait=config.max_retry_wait,
            clock=clock,
        )
        if jitter is not None:
            self.retry.jitter = jitter

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        body: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send with retries; return the decoded JSON body (None for an empty one).

        A POST sends ``idempotency_key`` (a fresh one when None) on every attempt of the call.
        """
        method = method.upper()
        url_path = self._base_path + path
        payload = None if body is None else json.dumps(encode(body), separators=(",", ":")).encode()
        fixed = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if payload is not None:
            fixed["Content-Type"] = "application/json"
        if method == "POST":
            fixed["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        request_id = self._request_id_provider() if self._request_id_provider else None
        if request_id:
            fixed["X-Request-ID"] = request_id
        clock = _Deadline(self._monotonic, self.config.deadline, f"{method} {path}")
        attempt, refreshed = 0, False
        while True:
            self._wait_for_budget(clock)
            headers = {**fixed, **self.auth.headers(method, url_path, self._clock())}
            try:
                timeout = clock.attempt_timeout(self.config.timeout)
                return self._send(method, path, params, payload, headers, timeout)
            except UnauthorizedError as error:
                if refreshed or not self._token_expired(error) or not self.auth.refresh(headers):
                    raise
                refreshed = True  # a renewed token is a fresh start, not a retry
            except NovaCronError as error:
                if not self.retry.should_retry(error, attempt):
                    if isinstance(error, APITimeoutError) and clock.spent():
                        raise clock.exceeded(attempt + 1) from error  # cut short by the deadline
                    raise
                delay = self.retry.delay(error, attempt)
                if not clock.allows(delay):
                    raise clock.exceeded(attempt + 1) from error
                logger.info(
                    "novacron: %s %s failed (%s), retry %d in %.2fs", method, path, error, attempt + 1, delay
                )
                self._sleep(delay)
                attempt += 1

    def _wait_for_budget(self, clock: _Deadline) -> None:
        self.bucket.acquire()
        wait = self.budget.wait_needed()
        if wait > 0 and not clock.allows(wait):
            raise clock.exceeded(0, waiting_for="the server's rate budget")
        if wait > 0:
            logger.info("novacron: rate budget spent, waiting %.2fs for the server to refill", wait)
            self._sleep(wait)

    def _send(
        self,
        method: str,
        path: str,
        params: Params,
        payload: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> Any:
        url = self._root + path
        started = self._monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=payload,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._log_call(method, path, "failed", started, None)
            if isinstance(exc, requests.Timeout):
                raise APITimeoutError(f"no response from {url} within {timeout:.3g}s") from exc
            if isinstance(exc, requests.ConnectionError):
                raise APIConnectionError(f"could not reach {url}: {exc}") from exc
            raise NovaCronError(f"request to {url} failed: {exc}") from exc
        self._log_call(method, path, str(response.status_code), started, response.headers.get("X-Request-ID"))
        self.budget.record(RateLimitInfo.from_headers(response.headers))
        if not 200 <= response.status_code < 300:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise NovaCronError(
                "the server answered with a body that is not JSON",
                status=response.status_code,
                request_id=response.headers.get("X-Request-ID"),
                headers=response.headers,
            ) from exc

    def _log_call(
        self, method: str, path: str, outcome: str, started: float, novacron_request_id: str | None
    ) -> None:
        # The path only: query strings are filters, never needed to find the call in NovaCron's logs.
        elapsed_ms = (self._monotonic() - started) * 1000
        call_logger.info(
            "novacron call %s %s%s %s in %.0f ms novacron_request_id=%s",
            method,
            self._base_path,
            path,
            outcome,
            elapsed_ms,
            novacron_request_id or "-",
        )

    @staticmethod
    def _token_expired(error: UnauthorizedError) -> bool:
        challenge = error.headers.get("WWW-Authenticate", "")
        return not challenge or "invalid_token" in challenge


class _Deadline:
    """The time one call may still take, from the config's ``deadline`` (None: unbounded)."""

    def __init__(self, monotonic: Callable[[], float], seconds: float | None, call: str) -> None:
        self._monotonic, self.seconds, self._call = monotonic, seconds, call
        self._ends = None if seconds is None else monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self._ends is None else self._ends - self._monotonic()

    def spent(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def allows(self, wait: float) -> bool:
        """Whether an attempt could still start after waiting ``wait`` seconds."""
        left = self.remaining()
        return left is None or wait < left

    def attempt_timeout(self, per_attempt: float) -> float:
        left = self.remaining()
        if left is None:
            return per_attempt
        if left <= 0:
            raise self.exceeded(0)
        return min(per_attempt, left)

    def exceeded(self, attempts: int, waiting_for: str = "a retry") -> DeadlineExceededError:
        tried = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        return DeadlineExceededError(
            f"{self._call}: the {self.seconds:g}s deadline passed{tried}; not waiting for {waiting_for}"
        )


def path_segment(value: str) -> str:
    """An id made safe for a URL path (ids are opaque; never let one add a slash)."""
    if not value:
        raise ValueError("an id is required")
    return quote(str(value), safe="")
