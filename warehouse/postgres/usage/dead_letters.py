"""Events the stream could not count, with the reason, per tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import dead_letter
from ..tenant_scope import tenant_scope

__all__ = ["DeadLetterRecord", "add_dead_letters", "list_dead_letters", "count_dead_letters_since"]


@dataclass(frozen=True)
class DeadLetterRecord:
    id: int
    event_id: str
    meter_slug: str
    reason: str
    event: dict
    created_at: datetime


async def add_dead_letters(conn: AsyncConnection, tenant_id: uuid.UUID,
                           rows: Iterable[tuple[str, str, str, dict]]) -> None:
    """rows: (event id, meter slug or "", reason, the event as JSON)."""
    values = [{"event_id": event_id, "meter_slug": slug, "reason": reason, "event": event}
              for event_id, slug, reason, event in rows]
    if not values:
        return
    statement = pg_insert(dead_letter).values(values).on_conflict_do_nothing(index_elements=["event_id", "meter_slug"])
    await (await tenant_scope(conn, tenant_id)).execute(statement)


async def list_dead_letters(conn: AsyncConnection, tenant_id: uuid.UUID, limit: int = 100,
                            before_id: int | None = None) -> list[DeadLetterRecord]:
    """Newest first; page with `before_id` = the last id of the previous page."""
    query = select(dead_letter).order_by(dead_letter.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(dead_letter.c.id < before_id)
    rows = await (await tenant_scope(conn, tenant_id)).execute(query)
    return [DeadLetterRecord(r.id, r.event_id, r.meter_slug, r.reason, r.event, r.created_at) for r in rows]


async def count_dead_letters_since(conn: AsyncConnection, tenant_id: uuid.UUID, since: datetime) -> int:
    query = select(func.count()).select_from(dead_letter).where(dead_letter.c.created_at >= since)
    return int((await (await tenant_scope(conn, tenant_id)).execute(query)).scalar_one())
