"""alert.critical: one open alert per resource and metric, raised once until it clears."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from sandbox.core.ids import new_id
from sandbox.core.models import VM, Alert
from sandbox.core.services.events import event_emit
from sandbox.engine.metrics_gen import HOT_CPU_TAG, VMSeries

SUSTAINED_MINUTES = 5


def alert_raise(
    *, partner_id: str, resource_type: str, resource_id: str, metric: str, value: float, threshold: float,
    message: str, now: datetime | None = None,
) -> Alert | None:  # fmt: skip
    now = now or timezone.now()
    if Alert.objects.filter(resource_id=resource_id, metric=metric, resolved_at__isnull=True).exists():
        return None
    alert = Alert.objects.create(
        alert_id=new_id("alr_", 8), partner_id=partner_id, resource_type=resource_type, resource_id=resource_id,
        metric=metric, value=value, threshold=threshold, message=message, created_at=now,
    )  # fmt: skip
    event_emit(
        partner=partner_id,
        event_type="alert.critical",
        data={
            "alert_id": alert.alert_id, "severity": "critical", "resource_type": resource_type,
            "resource_id": resource_id, "metric": metric, "value": value, "threshold": threshold, "message": message,
        },
        now=now,
    )  # fmt: skip
    return alert


def cpu_alerts_scan(*, now: datetime | None = None) -> int:
    """Running VMs whose generated CPU stayed above the threshold for the last minutes raise an alert."""
    now = now or timezone.now()
    threshold = float(settings.SANDBOX_CPU_ALERT_THRESHOLD)
    last_minute = int(now.astimezone(UTC).timestamp() // 60)
    key, value = HOT_CPU_TAG
    raised = 0
    candidates = VM.objects.filter(status="running", **{f"tags__{key}": value}).only("vm_id", "partner_id")
    for vm in candidates[:1000]:
        series = VMSeries(vm.vm_id, "cpu_usage", hot_cpu=True)
        recent = [series.at_minute(m) for m in range(last_minute - SUSTAINED_MINUTES + 1, last_minute + 1)]
        if min(recent) > threshold and alert_raise(
            partner_id=vm.partner_id, resource_type="vm", resource_id=vm.vm_id, metric="cpu_usage",
            value=recent[-1], threshold=threshold, now=now,
            message=f"CPU above {threshold:g}% for {SUSTAINED_MINUTES} minutes on {vm.vm_id}.",
        ):  # fmt: skip
            raised += 1
    # A VM that stopped, left or was deleted clears its CPU alert.
    Alert.objects.filter(resolved_at__isnull=True, metric="cpu_usage").exclude(
        resource_id__in=candidates.values("vm_id")
    ).update(resolved_at=now)
    return raised
