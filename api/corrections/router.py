"""The caller's tenant's late-usage corrections (member and above): the history of applied
ones with the invoice that billed them, and the pending ones (/v1/stream/corrections lists
only those)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from ..deps import CurrentTenant, DatabaseDep, require_role
from ..errors import error_responses
from ..fields import text
from . import service
from .schemas import CorrectionHistoryPublic, CorrectionPage

router = APIRouter(prefix="/v1/corrections", tags=["corrections"], dependencies=[Depends(require_role("member"))],
                   responses=error_responses(401, 403))

Cursor = text(1024)


@router.get("", response_model=CorrectionPage)
async def list_tenant_corrections(tenant: CurrentTenant, database: DatabaseDep,
                                  state: Annotated[Literal["all", "pending", "applied"], Query()] = "all",
                                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                                  cursor: Annotated[Cursor | None, Query(description="From the previous page")] = None,
                                  ) -> CorrectionPage:
    rows, next_cursor = await service.corrections_page(database, tenant, state, limit, cursor)
    return CorrectionPage(corrections=[CorrectionHistoryPublic.of(r) for r in rows], next_cursor=next_cursor)
