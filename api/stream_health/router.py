"""Tenant-scoped views of the stream's bookkeeping (member and above).

Every query runs in the caller's own schema, so nothing of another tenant is reachable.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..auth import utcnow
from ..deps import CurrentTenant, DatabaseDep
from ..errors import error_responses
from ..fields import Instant, RowId
from . import service
from .schemas import CorrectionPublic, DeadLetterPublic, DuplicateConflictPublic, DuplicateCountPublic

router = APIRouter(prefix="/v1/stream", tags=["stream"], responses=error_responses(401, 403))


@router.get("/dead-letters", response_model=list[DeadLetterPublic])
async def dead_letters(tenant: CurrentTenant, database: DatabaseDep,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       before_id: Annotated[RowId | None, Query(description="Page: the last id of the previous page")] = None,
                       ) -> list[DeadLetterPublic]:
    records = await service.dead_letters(database, tenant, limit, before_id)
    return [DeadLetterPublic(id=r.id, event_id=r.event_id, meter_slug=r.meter_slug, reason=r.reason, event=r.event,
                             created_at=r.created_at) for r in records]


@router.get("/duplicates", response_model=list[DuplicateCountPublic])
async def duplicates(tenant: CurrentTenant, database: DatabaseDep,
                     start: Annotated[Instant | None, Query(alias="from")] = None,
                     end: Annotated[Instant | None, Query(alias="to")] = None) -> list[DuplicateCountPublic]:
    start, end = service.duplicates_range(start, end, utcnow())
    counts = await service.duplicates_per_minute(database, tenant, start, end)
    return [DuplicateCountPublic(minute=minute, duplicates=count) for minute, count in counts]


@router.get("/duplicates/conflicts", response_model=list[DuplicateConflictPublic])
async def duplicate_conflicts(tenant: CurrentTenant, database: DatabaseDep,
                              start: Annotated[Instant | None, Query(alias="from")] = None,
                              end: Annotated[Instant | None, Query(alias="to")] = None,
                              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DuplicateConflictPublic]:
    """Duplicates whose content differed from the first copy (counted once, first copy
    wins): a client reusing ids for different events finds them here. Newest first."""
    start, end = service.duplicates_range(start, end, utcnow())
    conflicts = await service.duplicate_conflicts(database, tenant, start, end, limit)
    return [DuplicateConflictPublic(event_id=c.event_id, first_digest=service.digest_text(c.first_digest),
                                    duplicate_digest=service.digest_text(c.duplicate_digest), seen_at=c.seen_at)
            for c in conflicts]


@router.get("/corrections", response_model=list[CorrectionPublic])
async def corrections(tenant: CurrentTenant, database: DatabaseDep) -> list[CorrectionPublic]:
    records = await service.corrections(database, tenant)
    return [CorrectionPublic(invoice_number=r.invoice_number, meter_slug=r.meter_slug, window_start=r.window_start,
                             quantity=r.quantity, event_count=r.event_count, kind=r.kind) for r in records]
