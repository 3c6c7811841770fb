"""What the per-tenant event view needs from PostgreSQL: the dead letters of given event
ids, and the duplicates tallied since a time (duplicates are tallied per minute, never
stored per id: the dedup record keeps only the copy that counted)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import dead_letter, duplicate_tally
from ..tenant_scope import tenant_scope
from .dead_letters import DeadLetterRecord

__all__ = ["dead_letters_of", "duplicates_since"]


async def dead_letters_of(conn: AsyncConnection, tenant_id: uuid.UUID,
                          event_ids: Iterable[str]) -> dict[str, list[DeadLetterRecord]]:
    """event id -> its dead letters (one per meter that could not count it, or one with
    meter "" for the whole event), oldest first."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    rows = await (await tenant_scope(conn, tenant_id)).execute(
        select(dead_letter).where(dead_letter.c.event_id.in_(ids)).order_by(dead_letter.c.id))
    found: dict[str, list[DeadLetterRecord]] = {}
    for r in rows:
        found.setdefault(r.event_id, []).append(
            DeadLetterRecord(r.id, r.event_id, r.meter_slug, r.reason, r.event, r.created_at))
    return found


async def duplicates_since(conn: AsyncConnection, tenant_id: uuid.UUID, since: datetime) -> int:
    """Duplicate copies dropped from the minute holding `since` on."""
    total = await (await tenant_scope(conn, tenant_id)).scalar(
        select(func.coalesce(func.sum(duplicate_tally.c.event_count), 0))
        .where(duplicate_tally.c.window_start >= func.date_trunc("minute", since)))
    return int(total or 0)
