"""Reading the event view: stored events from ClickHouse's raw table, their dead letters
and the duplicate tally from the tenant's PostgreSQL schema, the meters from its meters.

What can be known: the raw table holds each event the stream stored (new ids only, dead
letters of a meter's value included); events dead-lettered before storing (beyond the
dedup horizon) exist only as dead letters, so they are found by id but are not in the
recent list; duplicates are tallied per minute, not per id (fate.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from warehouse.clickhouse.fine_usage import FineUsageReader, RawEventRow
from warehouse.postgres.database import Database
from warehouse.postgres.meters import list_meters
from warehouse.postgres.tenants import get_tenant
from warehouse.postgres.usage.dead_letters import DeadLetterRecord
from warehouse.postgres.usage.event_fates import dead_letters_of, duplicates_since

from ..domain_errors import DomainError, NotFound, Unavailable
from ..cursor_query import cursor_key
from ..usage.cursor import encode_cursor
from .fate import event_fate
from .schemas import EventDeadLetterPublic, EventViewPublic, RecentEventsPublic

__all__ = ["recent_events", "one_event"]


def _view(row: RawEventRow | None, dead: list[DeadLetterRecord], counting: dict[str, list[str]],
          event_id: str) -> EventViewPublic:
    if row is None:  # only its dead letter knows it
        event = dead[0].event
        kind, subject, at, data, received = (event.get("type", ""), event.get("subject"),
                                             datetime.fromisoformat(event["time"]) if event.get("time")
                                             else dead[0].created_at, event.get("data") or {}, None)
    else:
        kind, subject, at, data, received = row.type, row.subject, row.time, row.data, row.received_at
    meters = counting.get(kind, [])
    dead_meters = [d.meter_slug for d in dead]
    return EventViewPublic(
        id=event_id, type=kind, subject=subject, time=at, received_at=received, data=data,
        fate=event_fate(meters, dead_meters),
        counted_by=[] if "" in dead_meters else [m for m in meters if m not in dead_meters],
        dead_letters=[EventDeadLetterPublic(meter=d.meter_slug, reason=d.reason, at=d.created_at) for d in dead])


async def _context(database: Database, tenant_id: uuid.UUID, ids: list[str], since: datetime | None):
    async with database.connect() as conn:
        tenant = await get_tenant(conn, tenant_id)
        meters = await list_meters(conn, tenant_id)
        if tenant is None:
            return {}, {}, 0
        dead = await dead_letters_of(conn, tenant.id, ids)
        duplicates = await duplicates_since(conn, tenant.id, since) if since else 0
    counting: dict[str, list[str]] = {}
    for meter in sorted(meters, key=lambda m: m.slug):
        counting.setdefault(meter.event_type, []).append(meter.slug)
    return counting, dead, duplicates


async def _stored(call):
    try:
        return await call
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the store is "unavailable" to the caller
        raise Unavailable("the event store (clickhouse) is not reachable") from exc


def _before(cursor: str | None) -> tuple[datetime, str] | None:
    return cursor_key(cursor, datetime, str)  # type: ignore[return-value]


async def recent_events(database: Database, reader: FineUsageReader, tenant_id: uuid.UUID, limit: int,
                        cursor: str | None) -> RecentEventsPublic:
    rows = await _stored(reader.recent_events(tenant_id, _before(cursor), limit + 1))
    more, rows = len(rows) > limit, rows[:limit]
    since = min((r.received_at for r in rows), default=None)
    counting, dead, duplicates = await _context(database, tenant_id, [r.id for r in rows], since)
    return RecentEventsPublic(
        events=[_view(r, dead.get(r.id, []), counting, r.id) for r in rows], duplicates_dropped=duplicates,
        next_cursor=encode_cursor((rows[-1].received_at, rows[-1].id)) if more else None)


async def one_event(database: Database, reader: FineUsageReader, tenant_id: uuid.UUID,
                    event_id: str) -> EventViewPublic:
    rows = await _stored(reader.event(tenant_id, event_id))
    counting, dead, _ = await _context(database, tenant_id, [event_id], None)
    found = dead.get(event_id, [])
    if not rows and not found:
        raise NotFound(f"no event '{event_id}' in your tenant")
    return _view(rows[0] if rows else None, found, counting, event_id)
