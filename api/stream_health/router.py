"""Tenant-scoped views of the stream's bookkeeping (member and above).

Every query runs in the caller's own schema, so nothing of another tenant is reachable.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from warehouse.postgres.usage import duplicate_counts, list_dead_letters, pending_corrections

from ..deps import CurrentTenant, EngineDep, require_role
from ..errors import ApiError
from .schemas import CorrectionPublic, DeadLetterPublic, DuplicateCountPublic

router = APIRouter(prefix="/v1/stream", tags=["stream"], dependencies=[Depends(require_role("member"))])


@router.get("/dead-letters", response_model=list[DeadLetterPublic])
async def dead_letters(tenant: CurrentTenant, engine: EngineDep,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       before_id: Annotated[int | None, Query(description="Page: the last id of the previous page")] = None,
                       ) -> list[DeadLetterPublic]:
    async with engine.connect() as conn:
        records = await list_dead_letters(conn, tenant.schema_name, limit, before_id)
    return [DeadLetterPublic(id=r.id, event_id=r.event_id, meter_slug=r.meter_slug, reason=r.reason, event=r.event,
                             created_at=r.created_at) for r in records]


@router.get("/duplicates", response_model=list[DuplicateCountPublic])
async def duplicates(tenant: CurrentTenant, engine: EngineDep,
                     start: Annotated[datetime | None, Query(alias="from")] = None,
                     end: Annotated[datetime | None, Query(alias="to")] = None) -> list[DuplicateCountPublic]:
    end = end or datetime.now(timezone.utc)
    start = start or end - timedelta(days=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "from and to need a UTC offset",
                       details=[{"field": "from/to", "location": "query", "reason": "naive datetime"}])
    async with engine.connect() as conn:
        counts = await duplicate_counts(conn, tenant.schema_name, start, end)
    return [DuplicateCountPublic(minute=minute, duplicates=count) for minute, count in counts]


@router.get("/corrections", response_model=list[CorrectionPublic])
async def corrections(tenant: CurrentTenant, engine: EngineDep) -> list[CorrectionPublic]:
    async with engine.connect() as conn:
        records = await pending_corrections(conn, tenant.schema_name)
    return [CorrectionPublic(invoice_number=r.invoice_number, meter_slug=r.meter_slug, window_start=r.window_start,
                             quantity=r.quantity, event_count=r.event_count, kind=r.kind) for r in records]
