"""NovaCron Partner SDK: a typed, signed, retried and rate-limited client for the Partner API."""

from __future__ import annotations

from . import oauth, signing, webhooks
from ._version import __version__
from .client import Client
from .config import SDKConfig
from .errors import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    ForbiddenError,
    InsufficientScopeError,
    NotFoundError,
    NovaCronError,
    OAuthError,
    PayloadTooLargeError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    SignatureVerificationError,
    UnauthorizedError,
    ValidationError,
    error_from_response,
)
from .models import (
    VM,
    Cluster,
    ClusterCapacity,
    Delivery,
    DeliveryAttempt,
    Endpoint,
    Integration,
    Metric,
    MetricPoint,
    MetricSeries,
    MetricsQuery,
    MetricsResult,
    MigrationMetrics,
    MigrationSpec,
    MigrationStatus,
    Page,
    Partner,
    Quota,
    QuotaCheck,
    RateLimitInfo,
    VMListOptions,
    VMSpec,
    WebhookEvent,
    WebhookSubscription,
)
from .oauth import AuthorizationRequest, OAuthConfig, OAuthProvider, Token
from .webhooks import construct_event, verify_signature

__all__ = [
    "VM", "APIConnectionError", "APITimeoutError", "AuthorizationRequest", "Client", "Cluster",
    "ClusterCapacity", "ConflictError", "Delivery", "DeliveryAttempt", "Endpoint", "ForbiddenError",
    "InsufficientScopeError", "Integration", "Metric", "MetricPoint", "MetricSeries", "MetricsQuery",
    "MetricsResult", "MigrationMetrics", "MigrationSpec", "MigrationStatus", "NotFoundError",
    "NovaCronError", "OAuthConfig", "OAuthError", "OAuthProvider", "Page", "Partner",
    "PayloadTooLargeError", "Quota", "QuotaCheck", "QuotaExceededError", "RateLimitError",
    "RateLimitInfo", "SDKConfig", "ServerError", "SignatureVerificationError", "Token",
    "UnauthorizedError", "VMListOptions", "VMSpec", "ValidationError", "WebhookEvent",
    "WebhookSubscription", "__version__", "construct_event", "error_from_response", "oauth",
    "signing", "verify_signature", "webhooks",
]
