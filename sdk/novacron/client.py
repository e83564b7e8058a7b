"""``Client``: one method per call of the Partner API, returning typed models."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

import requests

from .config import SDKConfig
from .models import (
    VM,
    Cluster,
    Delivery,
    Integration,
    Metric,
    MetricsQuery,
    MetricsResult,
    MigrationSpec,
    MigrationStatus,
    Page,
    Partner,
    Quota,
    QuotaCheck,
    RateLimitInfo,
    VMListOptions,
    VMSpec,
    WebhookSubscription,
)
from .transport import Auth, BearerAuth, HMACAuth, Params, RequestIdProvider, Transport, path_segment

M = TypeVar("M")


class Client:
    """A NovaCron Partner API client; safe to share between threads.

    ``Client(SDKConfig(...))`` signs every request with the partner's HMAC credentials;
    ``Client.with_token(...)`` acts as a user through an OAuth bearer token.
    ``request_id_provider()``, called once per call, gives the ``X-Request-ID`` to send (None: none),
    so NovaCron's logs can be matched with the caller's.
    """

    def __init__(
        self,
        config: SDKConfig,
        *,
        auth: Auth | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        request_id_provider: RequestIdProvider | None = None,
    ) -> None:
        if auth is None:
            if not (config.partner_id and config.uses_hmac):
                raise ValueError(
                    "HMAC mode needs partner_id, api_key and api_secret (or use Client.with_token)"
                )
            auth = HMACAuth(config.partner_id, config.api_key or "", config.api_secret or "")
        self.config = config
        self._http = Transport(
            config,
            auth,
            session=session,
            clock=clock,
            monotonic=monotonic,
            sleep=sleep,
            jitter=jitter,
            request_id_provider=request_id_provider,
        )

    @classmethod
    def with_token(
        cls,
        base_url: str,
        access_token: str,
        token_provider: Callable[[], str] | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        rate_limit_rps: float = 100,
        *,
        partner_id: str | None = None,
        **options: Any,
    ) -> Client:
        """A client acting as a user. ``token_provider()`` returns a fresh access token; it is
        called once when the server answers 401 ``invalid_token``, then the call is retried."""
        settings = {
            k: options.pop(k)
            for k in ("deadline", "max_retry_wait", "backoff_base", "backoff_max", "pool_maxsize")
            if k in options
        }
        config = SDKConfig(
            base_url=base_url,
            partner_id=partner_id,
            rate_limit_rps=rate_limit_rps,
            timeout=timeout,
            max_retries=max_retries,
            **settings,
        )
        return cls(config, auth=BearerAuth(access_token, token_provider), **options)

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The last ``X-RateLimit-*`` headers the server sent, for showing the budget."""
        return self._http.budget.info

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        body: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        return self._http.request(method, path, params=params, body=body, idempotency_key=idempotency_key)

    def _partner_path(self, suffix: str = "") -> str:
        if not self.config.partner_id:
            raise ValueError("this call is scoped to a partner: pass partner_id to Client.with_token")
        return f"/partners/{path_segment(self.config.partner_id)}{suffix}"

    def _page(
        self,
        path: str,
        item: Callable[[dict[str, Any]], M],
        page: int,
        limit: int,
        extra: Mapping[str, str] | None = None,
    ) -> Page[M]:
        def fetch(number: int) -> Page[M]:
            params = {**(extra or {}), "page": str(number), "limit": str(limit)}
            return Page.from_dict(self._request("GET", path, params=params), item, fetch)

        return fetch(page)

    # -- partner and quotas -----------------------------------------------------------------

    def get_partner(self) -> Partner:
        return Partner.from_dict(self._request("GET", self._partner_path()))

    def get_quotas(self) -> list[Quota]:
        body = self._request("GET", self._partner_path("/quotas"))
        return [Quota.from_dict(q) for q in body["data"]]

    def check_quota(
        self, resource: str, amount: int = 1, *, idempotency_key: str | None = None
    ) -> QuotaCheck:
        body = self._request(
            "POST",
            self._partner_path("/quotas/check"),
            body={"resource": resource, "amount": amount},
            idempotency_key=idempotency_key,
        )
        return QuotaCheck.from_dict(body)

    # -- integrations -----------------------------------------------------------------------

    def list_integrations(self, page: int = 1, limit: int = 50) -> Page[Integration]:
        return self._page(self._partner_path("/integrations"), Integration.from_dict, page, limit)

    def create_integration(
        self, integration: Integration | Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Integration:
        body = integration.to_create_body() if isinstance(integration, Integration) else dict(integration)
        path = self._partner_path("/integrations")
        return Integration.from_dict(self._request("POST", path, body=body, idempotency_key=idempotency_key))

    def get_integration(self, integration_id: str) -> Integration:
        path = self._partner_path(f"/integrations/{path_segment(integration_id)}")
        return Integration.from_dict(self._request("GET", path))

    def update_integration(self, integration_id: str, updates: Mapping[str, Any]) -> Integration:
        path = self._partner_path(f"/integrations/{path_segment(integration_id)}")
        return Integration.from_dict(self._request("PATCH", path, body=dict(updates)))

    def delete_integration(self, integration_id: str) -> None:
        self._request("DELETE", self._partner_path(f"/integrations/{path_segment(integration_id)}"))

    # -- VMs and clusters -------------------------------------------------------------------

    def list_vms(self, options: VMListOptions | None = None, **filters: Any) -> Page[VM]:
        """VMs matching the reference's filters (``status``, ``tags``, ``cloud_provider``, ``region``,
        ``cluster``, ``q``, ``updated_since``, ``include_deleted``, ``page``, ``limit``)."""
        chosen = (options or VMListOptions()).with_filters(**filters)

        def fetch(number: int) -> Page[VM]:
            params = chosen.with_filters(page=number).to_params()
            return Page.from_dict(self._request("GET", "/vms", params=params), VM.from_dict, fetch)

        return fetch(chosen.page)

    def list_vms_paginated(
        self, page: int, limit: int, options: VMListOptions | None = None
    ) -> tuple[list[VM], bool]:
        result = self.list_vms(options, page=page, limit=limit)
        return result.data, result.has_more

    def iter_vms(self, options: VMListOptions | None = None, **filters: Any) -> Iterator[VM]:
        """Every matching VM, fetching pages as the iteration reaches them."""
        return self.list_vms(options, **filters).auto_paging_iter()

    def get_vm(self, vm_id: str) -> VM:
        return VM.from_dict(self._request("GET", f"/vms/{path_segment(vm_id)}"))

    def create_vm(self, spec: VMSpec | Mapping[str, Any], *, idempotency_key: str | None = None) -> VM:
        """``idempotency_key``: the caller's own key (e.g. one per form), so a repeat creates one VM."""
        body = spec._to_body() if isinstance(spec, VMSpec) else dict(spec)
        return VM.from_dict(self._request("POST", "/vms", body=body, idempotency_key=idempotency_key))

    def delete_vm(self, vm_id: str) -> None:
        self._request("DELETE", f"/vms/{path_segment(vm_id)}")

    def start_vm(self, vm_id: str, *, idempotency_key: str | None = None) -> VM:
        path = f"/vms/{path_segment(vm_id)}/start"
        return VM.from_dict(self._request("POST", path, idempotency_key=idempotency_key))

    def stop_vm(self, vm_id: str, *, idempotency_key: str | None = None) -> VM:
        path = f"/vms/{path_segment(vm_id)}/stop"
        return VM.from_dict(self._request("POST", path, idempotency_key=idempotency_key))

    def list_clusters(self) -> list[Cluster]:
        return [Cluster.from_dict(c) for c in self._request("GET", "/clusters")["data"]]

    # -- migrations -------------------------------------------------------------------------

    def start_migration(
        self, spec: MigrationSpec | Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> MigrationStatus:
        body = spec.to_dict() if isinstance(spec, MigrationSpec) else dict(spec)
        answer = self._request("POST", "/migrations", body=body, idempotency_key=idempotency_key)
        return MigrationStatus.from_dict(answer)

    def get_migration_status(self, migration_id: str) -> MigrationStatus:
        return MigrationStatus.from_dict(self._request("GET", f"/migrations/{path_segment(migration_id)}"))

    def list_migrations(
        self, status: str | None = None, vm_id: str | None = None, page: int = 1, limit: int = 50
    ) -> Page[MigrationStatus]:
        extra = {k: v for k, v in (("status", status), ("vm_id", vm_id)) if v}
        return self._page("/migrations", MigrationStatus.from_dict, page, limit, extra)

    def cancel_migration(self, migration_id: str, *, idempotency_key: str | None = None) -> MigrationStatus:
        path = f"/migrations/{path_segment(migration_id)}/cancel"
        return MigrationStatus.from_dict(self._request("POST", path, idempotency_key=idempotency_key))

    # -- metrics ----------------------------------------------------------------------------

    def get_metrics(self, query: MetricsQuery) -> MetricsResult:
        return MetricsResult.from_dict(self._request("GET", "/metrics", params=query.to_params()))

    def send_metric(self, metric: Metric, *, idempotency_key: str | None = None) -> Metric:
        if metric.timestamp is None:
            metric = replace(metric, timestamp=datetime.now(UTC))
        answer = self._request("POST", "/metrics", body=metric._to_body(), idempotency_key=idempotency_key)
        return Metric.from_dict(answer)

    # -- webhook subscriptions --------------------------------------------------------------

    def subscribe_webhook(
        self, events: list[str], url: str, secret: str, *, idempotency_key: str | None = None
    ) -> WebhookSubscription:
        body = {"url": url, "events": list(events), "secret": secret}
        return WebhookSubscription.from_dict(
            self._request("POST", self._partner_path("/webhooks"), body=body, idempotency_key=idempotency_key)
        )

    def list_webhooks(self, page: int = 1, limit: int = 50) -> Page[WebhookSubscription]:
        return self._page(self._partner_path("/webhooks"), WebhookSubscription.from_dict, page, limit)

    def update_webhook(self, subscription_id: str, updates: Mapping[str, Any]) -> WebhookSubscription:
        """Change ``url``, ``events``, ``secret`` (rotation) or ``status``."""
        path = self._partner_path(f"/webhooks/{path_segment(subscription_id)}")
        return WebhookSubscription.from_dict(self._request("PATCH", path, body=dict(updates)))

    def delete_webhook(self, subscription_id: str) -> None:
        self._request("DELETE", self._partner_path(f"/webhooks/{path_segment(subscription_id)}"))

    def send_test_event(self, subscription_id: str, *, idempotency_key: str | None = None) -> Delivery:
        path = self._partner_path(f"/webhooks/{path_segment(subscription_id)}/test")
        return Delivery.from_dict(self._request("POST", path, idempotency_key=idempotency_key))

    def list_deliveries(
        self, subscription_id: str, status: str | None = None, page: int = 1, limit: int = 50
    ) -> Page[Delivery]:
        path = self._partner_path(f"/webhooks/{path_segment(subscription_id)}/deliveries")
        return self._page(path, Delivery.from_dict, page, limit, {"status": status} if status else None)

    def redeliver(
        self, subscription_id: str, delivery_id: str, *, idempotency_key: str | None = None
    ) -> Delivery:
        path = self._partner_path(
            f"/webhooks/{path_segment(subscription_id)}/deliveries/{path_segment(delivery_id)}/redeliver"
        )
        return Delivery.from_dict(self._request("POST", path, idempotency_key=idempotency_key))
