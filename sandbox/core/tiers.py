"""What each partner tier allows: rate limits (contract) and default quotas (sandbox choices)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TierLimits:
    per_minute: int
    burst: int
    vm_create_per_day: int
    migration_concurrent: int


TIERS: dict[str, TierLimits] = {
    "bronze": TierLimits(per_minute=100, burst=150, vm_create_per_day=50, migration_concurrent=2),
    "silver": TierLimits(per_minute=500, burst=750, vm_create_per_day=200, migration_concurrent=5),
    "gold": TierLimits(per_minute=1000, burst=1500, vm_create_per_day=500, migration_concurrent=10),
    "platinum": TierLimits(per_minute=5000, burst=7500, vm_create_per_day=2000, migration_concurrent=25),
}


def default_quota_limits(tier: str) -> dict[str, int]:
    limits = TIERS[tier]
    return {
        "api_calls_per_minute": limits.per_minute,
        "vm_create_per_day": limits.vm_create_per_day,
        "migration_concurrent": limits.migration_concurrent,
    }
