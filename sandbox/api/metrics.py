"""Metric series (generated and custom) and custom metric ingestion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from sandbox.api.auth import PartnerAuth
from sandbox.api.common import partner_of
from sandbox.api.schemas import MetricIn, MetricOut, MetricsOut
from sandbox.core.services.metrics import metric_json, metric_record, metrics_query

router = Router(tags=["metrics"])


@router.get("/metrics", response=MetricsOut, auth=PartnerAuth("vm:read"))
def metrics_read(
    request: HttpRequest,
    resource_id: str,
    resource: str = "vm",
    metrics: str = "cpu_usage",
    start: datetime | None = None,
    end: datetime | None = None,
    interval: str = "5m",
    aggregate: str = "avg",
) -> dict[str, object]:
    names = [name.strip() for name in metrics.split(",") if name.strip()]
    return metrics_query(partner=partner_of(request), resource=resource, resource_id=resource_id, names=names,
                         start=start, end=end, interval=interval, aggregate=aggregate)  # fmt: skip


@router.post("/metrics", response={201: MetricOut}, auth=PartnerAuth("vm:write"))
def metrics_write(request: HttpRequest, payload: MetricIn) -> Status[dict[str, Any]]:
    metric = metric_record(partner=partner_of(request), name=payload.name, value=payload.value, unit=payload.unit,
                           timestamp=payload.timestamp, tags=payload.tags)  # fmt: skip
    return Status(201, metric_json(metric))
