"""Migrations: start, list, read, cancel."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.params.functions import Query  # what ninja.Query calls, typed (that name is typed as Query[T])

from sandbox.api.auth import PartnerAuth
from sandbox.api.common import partner_of
from sandbox.api.schemas import MigrationOut, MigrationPage, MigrationSpecIn
from sandbox.core.selectors import PageRequest, migration_get, migration_list, page_json, paginate
from sandbox.core.serializers import migration_json
from sandbox.core.services.migrations import migration_cancel, migration_create

router = Router(tags=["migrations"])
READ, EXECUTE = PartnerAuth("vm:read"), PartnerAuth("migration:execute")


@router.post("/migrations", response={201: MigrationOut}, auth=EXECUTE)
def migrations_create(request: HttpRequest, payload: MigrationSpecIn) -> Status[dict[str, Any]]:
    return Status(201, migration_json(migration_create(partner=partner_of(request), spec=payload.dict())))


@router.get("/migrations", response=MigrationPage, auth=READ)
def migrations_list(
    request: HttpRequest,
    status: str | None = None,
    vm_id: str | None = None,
    page: int = Query(1, ge=1),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, object]:
    page_request = PageRequest(page=page, limit=limit)
    migrations, total, has_more = paginate(
        migration_list(partner=partner_of(request), status=status, vm_id=vm_id), page_request
    )
    return page_json([migration_json(m) for m in migrations], total, has_more, page_request)


@router.get("/migrations/{migration_id}", response=MigrationOut, auth=READ)
def migrations_detail(request: HttpRequest, migration_id: str) -> dict[str, object]:
    return migration_json(migration_get(partner=partner_of(request), migration_id=migration_id))


@router.post("/migrations/{migration_id}/cancel", response=MigrationOut, auth=EXECUTE)
def migrations_cancel(request: HttpRequest, migration_id: str) -> dict[str, object]:
    migration = migration_get(partner=partner_of(request), migration_id=migration_id)
    return migration_json(migration_cancel(migration=migration))
