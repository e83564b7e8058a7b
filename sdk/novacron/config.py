"""Client configuration, mirroring the reference's ``SDKConfig``."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE_PATH = "/api/v1"


@dataclass(frozen=True)
class SDKConfig:
    """Everything a client needs to reach NovaCron as a partner.

    ``base_url`` is the server root (``https://api.novacron.io``); the API base path
    ``/api/v1`` is added unless the URL already ends with it.
    """

    base_url: str
    partner_id: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    rate_limit_rps: float = 100
    # Per attempt: the connect and read timeout of one HTTP request.
    timeout: float = 30.0
    max_retries: int = 3
    # Per call, across its attempts and the waits between them (like Go's context.WithTimeout):
    # once it has passed no attempt starts, and each attempt's timeout is cut to what is left.
    # None: no total bound (max_retries attempts of up to `timeout` each, plus the backoff).
    deadline: float | None = None
    # Longest single wait the client accepts before a retry or before the server's budget refills;
    # past it the call goes ahead (and may surface a RateLimitError) rather than hang a web request.
    max_retry_wait: float = 60.0
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    pool_maxsize: int = 32

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if self.rate_limit_rps <= 0:
            raise ValueError("rate_limit_rps must be positive")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be positive (or None for no total bound)")

    @property
    def api_root(self) -> str:
        """The URL every path is appended to, base path included, without a trailing slash."""
        root = self.base_url.rstrip("/")
        return root if root.endswith(DEFAULT_BASE_PATH) else root + DEFAULT_BASE_PATH

    @property
    def uses_hmac(self) -> bool:
        return bool(self.api_key and self.api_secret)
