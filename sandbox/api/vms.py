"""VMs and clusters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.params.functions import Query  # what ninja.Query calls, typed (that name is typed as Query[T])

from sandbox.api.auth import PartnerAuth
from sandbox.api.common import json_response, partner_of
from sandbox.api.schemas import ClusterList, VMOut, VMPage, VMSpecIn, VMStatus
from sandbox.core.selectors import (
    PageRequest,
    VMFilters,
    cluster_capacity,
    page_json,
    paginate,
    vm_get,
    vm_list,
)
from sandbox.core.serializers import cluster_json, vm_json
from sandbox.core.services.vms import vm_create, vm_delete, vm_start, vm_stop

router = Router(tags=["vms"])
READ, WRITE = PartnerAuth("vm:read"), PartnerAuth("vm:write")


@router.get("/vms", response=VMPage, auth=READ)
def vms_list(
    request: HttpRequest,
    status: VMStatus | None = None,
    tag: list[str] = Query(default_factory=list, description="key:value, repeatable; all must match"),  # noqa: B008
    cloud_provider: str | None = None,
    region: str | None = None,
    cluster: str | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    include_deleted: bool = False,
    page: int = Query(1, ge=1),
    limit: int = Query(50, ge=1, le=500),
) -> HttpResponse:
    filters = VMFilters(status=status, tags=tag, cloud_provider=cloud_provider, region=region, cluster=cluster,
                        q=q, updated_since=updated_since, include_deleted=include_deleted)  # fmt: skip
    page_request = PageRequest(page=page, limit=limit)
    vms, total, has_more = paginate(vm_list(partner=partner_of(request), filters=filters), page_request)
    return json_response(page_json([vm_json(vm) for vm in vms], total, has_more, page_request))


@router.post("/vms", response={201: VMOut}, auth=WRITE)
def vms_create(request: HttpRequest, payload: VMSpecIn) -> Status[dict[str, Any]]:
    return Status(201, vm_json(vm_create(partner=partner_of(request), spec=payload.dict())))


@router.get("/vms/{vm_id}", response=VMOut, auth=READ)
def vms_detail(request: HttpRequest, vm_id: str) -> dict[str, object]:
    return vm_json(vm_get(partner=partner_of(request), vm_id=vm_id))


@router.delete("/vms/{vm_id}", response={204: None}, auth=WRITE)
def vms_delete(request: HttpRequest, vm_id: str) -> Status[None]:
    vm_delete(vm=vm_get(partner=partner_of(request), vm_id=vm_id))
    return Status(204, None)


@router.post("/vms/{vm_id}/start", response=VMOut, auth=WRITE)
def vms_start(request: HttpRequest, vm_id: str) -> dict[str, object]:
    return vm_json(vm_start(vm=vm_get(partner=partner_of(request), vm_id=vm_id)))


@router.post("/vms/{vm_id}/stop", response=VMOut, auth=WRITE)
def vms_stop(request: HttpRequest, vm_id: str) -> dict[str, object]:
    return vm_json(vm_stop(vm=vm_get(partner=partner_of(request), vm_id=vm_id)))


@router.get("/clusters", response=ClusterList, auth=READ)
def clusters_list(request: HttpRequest) -> dict[str, object]:
    partner_of(request)
    return {
        "data": [cluster_json(c, vcpus_used=cpu, memory_gb_used=mem) for c, cpu, mem in cluster_capacity()]
    }
