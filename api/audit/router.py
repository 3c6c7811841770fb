"""GET /v1/audit: the caller's tenant's audit log (admins), newest first, cursor-paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import CurrentPrincipal, DatabaseDep
from ..errors import error_responses
from . import service
from .schemas import AuditEntryPublic, AuditPagePublic

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=error_responses(401, 403))


@router.get("", response_model=AuditPagePublic)
async def audit_log(principal: CurrentPrincipal, database: DatabaseDep,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    cursor: Annotated[str | None, Query(max_length=1024)] = None) -> AuditPagePublic:
    """Changes to people, roles, API keys, the subscription and the tenant's lifecycle."""
    records, next_cursor = await service.audit_page(database, principal.tenant_id, limit, cursor)
    return AuditPagePublic(entries=[AuditEntryPublic.of(r) for r in records], next_cursor=next_cursor)
