"""GET /v1/events/recent and GET /v1/events/{id}: the caller's tenant's events and their
fate. Only the token's tenant is read: another tenant's event id is unknown (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ..errors import error_responses
from ..deps import CurrentPrincipal, DatabaseDep
from ..usage.query_deps import FineUsageReaderDep
from . import service
from .schemas import EventViewPublic, RecentEventsPublic

router = APIRouter(prefix="/v1/events", tags=["events"],
                   responses=error_responses(401, 403, (404, "No event with this id in your tenant"), 503))


@router.get("/recent", response_model=RecentEventsPublic)
async def recent_events(principal: CurrentPrincipal, database: DatabaseDep, reader: FineUsageReaderDep,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50,
                        cursor: Annotated[str | None, Query(max_length=1024)] = None) -> RecentEventsPublic:
    """The last events the stream stored for your tenant, newest first, each with its fate."""
    return await service.recent_events(database, reader, principal.tenant_id, limit, cursor)


@router.get("/{event_id}", response_model=EventViewPublic)
async def event(principal: CurrentPrincipal, database: DatabaseDep, reader: FineUsageReaderDep,
                event_id: Annotated[str, Path(min_length=1, max_length=256, pattern="^[^\\x00]+$",
                                              description="The event's id as sent (no NUL characters)")]) -> EventViewPublic:
    """One of your tenant's events by id, with its fate: stored or only dead-lettered."""
    return await service.one_event(database, reader, principal.tenant_id, event_id)
