"""Tenants across the platform, for operators: list them, suspend and resume them, and read the
invoices kept after a tenant's purge. Permissions: api/operator_roles.py."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from warehouse.postgres.tenant_lifecycle import list_tenant_page
from warehouse.postgres.tenant_purge import list_retained_invoices

from ..deps import DatabaseDep
from ..domain_errors import FieldProblem, InvalidInput
from ..errors import error_responses
from ..operator_deps import require_permission
from ..usage.cursor import InvalidCursor, decode_cursor, encode_cursor
from . import service
from .schemas import (
    RetainedInvoicePagePublic, RetainedInvoicePublic, SuspensionCreate, TenantPagePublic, TenantStandingPublic,
)

router = APIRouter(prefix="/v1/operator", tags=["operators"], responses=error_responses(
    (401, "No operator access token, or not one (a tenant's token)"),
    (403, "The operator's role may not do this (docs/operators.md)")))

Limit = Annotated[int, Query(ge=1, le=200, description="Rows per page")]
Cursor = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")]
TenantReader = Annotated[object, Depends(require_permission("tenants.read"))]
Suspender = Annotated[object, Depends(require_permission("tenants.suspend"))]
RetainedReader = Annotated[object, Depends(require_permission("invoices.retained"))]


def _bad_cursor() -> InvalidInput:
    return InvalidInput("not a cursor this API gave", code="invalid_cursor",
                        problems=[FieldProblem("cursor", "not a cursor this API gave")])


def _after(cursor: str | None, arity: int) -> tuple | None:
    """The key a cursor of this API carries: `arity` strings (422 for anything else)."""
    if cursor is None:
        return None
    try:
        key = decode_cursor(cursor)
    except InvalidCursor as exc:
        raise _bad_cursor() from exc
    if len(key) != arity or not all(isinstance(part, str) for part in key):
        raise _bad_cursor()
    return key


@router.get("/tenants", response_model=TenantPagePublic)
async def list_tenants(_operator: TenantReader, database: DatabaseDep, limit: Limit = 50, cursor: Cursor = None,
                       status: Annotated[Literal["active", "suspended", "deleting"] | None, Query()] = None,
                       ) -> TenantPagePublic:
    """Every tenant by slug, with its status (and why), its current plan and lifecycle dates."""
    after = _after(cursor, 1)
    async with database.connect() as conn:
        rows = await list_tenant_page(conn, status=status, after_slug=after[0] if after else None, limit=limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    return TenantPagePublic(
        tenants=[TenantStandingPublic.of(r.tenant, r.plan_slug, r.subscription_status) for r in rows],
        next_cursor=encode_cursor((rows[-1].tenant.slug,)) if more else None)


@router.post("/tenants/{tenant_id}/suspend", response_model=TenantStandingPublic,
             responses=error_responses(400, (404, "No such tenant")))
async def suspend_tenant(tenant_id: uuid.UUID, body: SuspensionCreate, _operator: Suspender,
                         database: DatabaseDep) -> TenantStandingPublic:
    """Ingest refuses the tenant's API keys (403 with the reason) within seconds; its data is kept and
    its people still sign in (their login answer shows the suspension). Dunning never lifts it."""
    return TenantStandingPublic.of(await service.change_suspension(database, tenant_id, body.reason))


@router.post("/tenants/{tenant_id}/resume", response_model=TenantStandingPublic,
             responses=error_responses((404, "No such tenant"), (409, "The tenant is not suspended")))
async def resume_tenant(tenant_id: uuid.UUID, _operator: Suspender, database: DatabaseDep) -> TenantStandingPublic:
    """Lifts any suspension (an operator's or dunning's); ingest accepts the keys again within seconds."""
    return TenantStandingPublic.of(await service.change_suspension(database, tenant_id, None))


@router.get("/retained-invoices", response_model=RetainedInvoicePagePublic)
async def retained_invoices(_operator: RetainedReader, database: DatabaseDep, tenant_id: uuid.UUID | None = None,
                            limit: Limit = 50, cursor: Cursor = None) -> RetainedInvoicePagePublic:
    """Invoices of purged tenants, kept for the legal retention period with their lines and payments."""
    after = _after(cursor, 2)
    try:
        key = (uuid.UUID(after[0]), after[1]) if after else None
    except ValueError as exc:
        raise _bad_cursor() from exc
    async with database.connect() as conn:
        rows = await list_retained_invoices(conn, tenant_id, key, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    return RetainedInvoicePagePublic(
        invoices=[RetainedInvoicePublic.of(r) for r in rows],
        next_cursor=encode_cursor((str(rows[-1].tenant_id), rows[-1].number)) if more else None)
