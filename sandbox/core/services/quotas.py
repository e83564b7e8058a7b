"""Quotas with real usage: VMs created today, concurrent migrations, API calls this minute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from sandbox.api.errors import QuotaExceeded, ValidationFailed
from sandbox.core.models import VM, Migration, Partner
from sandbox.core.serializers import iso
from sandbox.core.services.events import event_emit
from sandbox.core.tiers import TIERS, default_quota_limits
from sandbox.engine.ratelimit import limiter

QUOTA_NAMES = ("api_calls_per_minute", "vm_create_per_day", "migration_concurrent")
ALIASES = {
    "vm-create": "vm_create_per_day",
    "migration": "migration_concurrent",
    "api-call": "api_calls_per_minute",
}
ACTIVE_MIGRATION_STATUSES = ("pending", "in_progress")


@dataclass(frozen=True)
class QuotaState:
    name: str
    limit: int
    used: int
    reset_at: datetime | None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name, "limit": self.limit, "used": self.used,
            "remaining": self.remaining, "reset_at": iso(self.reset_at),
        }  # fmt: skip


def quota_limit(partner: Partner, name: str) -> int:
    limits = {**default_quota_limits(partner.tier), **(partner.quota_limits or {})}
    return int(limits[name])


def rate_limits_of(partner: Partner) -> tuple[int, int]:
    """(per minute, burst) after the sandbox's scale factor."""
    scale = float(getattr(settings, "SANDBOX_RATE_LIMIT_SCALE", 1.0))
    per_minute = quota_limit(partner, "api_calls_per_minute")
    tier = TIERS[partner.tier]
    burst = per_minute * tier.burst / tier.per_minute
    return max(1, round(per_minute * scale)), max(1, round(burst * scale))


def quota_state(partner: Partner, name: str, *, now: datetime | None = None) -> QuotaState:
    now = now or timezone.now()
    limit = quota_limit(partner, name)
    if name == "vm_create_per_day":
        day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        used = VM.objects.filter(partner=partner, created_at__gte=day_start).count()
        return QuotaState(name, limit, used, day_start + timedelta(days=1))
    if name == "migration_concurrent":
        used = Migration.objects.filter(partner=partner, status__in=ACTIVE_MIGRATION_STATUSES).count()
        return QuotaState(name, limit, used, None)
    minute_start = now.replace(second=0, microsecond=0)
    used = limiter.calls_this_minute(partner.partner_id, now.timestamp())
    return QuotaState(name, limit, used, minute_start + timedelta(minutes=1))


def quota_list(partner: Partner) -> list[QuotaState]:
    return [quota_state(partner, name) for name in QUOTA_NAMES]


def quota_name_of(resource: str) -> str:
    name = ALIASES.get(resource, resource)
    if name not in QUOTA_NAMES:
        raise ValidationFailed.on("resource", f"unknown resource {resource!r}")
    return name


def quota_check(*, partner: Partner, resource: str, amount: int) -> dict[str, object]:
    state = quota_state(partner, quota_name_of(resource))
    return {
        "allowed": state.used + amount <= state.limit, "quota": state.name, "limit": state.limit,
        "used": state.used, "remaining": state.remaining,
    }  # fmt: skip


def quota_require(*, partner: Partner, name: str, amount: int = 1) -> None:
    """Refuses an operation over quota: a `quota.exceeded` event, then 403 quota_exceeded."""
    state = quota_state(partner, name)
    if state.used + amount <= state.limit:
        return
    message = f"Quota {name} exceeded: {state.used} used of {state.limit}, {amount} requested."
    event_emit(
        partner=partner,
        event_type="quota.exceeded",
        data={
            "quota": name,
            "limit": state.limit,
            "used": state.used,
            "requested": amount,
            "message": message,
        },
    )
    raise QuotaExceeded(
        message,
        details={
            "quota": name, "limit": state.limit, "used": state.used, "requested": amount,
            "reset_at": iso(state.reset_at),
        },
    )  # fmt: skip
