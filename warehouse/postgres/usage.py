"""Per-tenant usage in PostgreSQL: the dedup record and hourly windows, written together.

The stream may deliver an event more than once (a crash, a rebalance); it is counted
by the one transaction that inserts its id into processed_event, so replays change
nothing. Usage deltas are added in that same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from stream.aggregation import UsageDelta

from .tables import processed_event, usage_hourly

__all__ = ["claim_new_events", "add_usage", "usage_for_period", "usage_hours"]


def _in(conn: AsyncConnection, schema_name: str):
    return conn.execution_options(schema_translate_map={"tenant": schema_name})


async def claim_new_events(conn: AsyncConnection, schema_name: str,
                           events: Sequence[tuple[str, datetime]]) -> set[str]:
    """Insert (id, time) pairs into the dedup record; returns the ids that were not there yet."""
    if not events:
        return set()
    statement = (
        pg_insert(processed_event)
        .values([{"event_id": event_id, "event_time": at} for event_id, at in events])
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(processed_event.c.event_id)
    )
    tconn = await _in(conn, schema_name)
    return set((await tconn.execute(statement)).scalars())


async def add_usage(conn: AsyncConnection, schema_name: str,
                    deltas: Iterable[tuple[str, datetime, UsageDelta]]) -> None:
    rows = [{"meter_slug": slug, "window_start": window, "quantity": d.quantity, "event_count": d.event_count}
            for slug, window, d in deltas]
    if not rows:
        return
    statement = pg_insert(usage_hourly).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["meter_slug", "window_start"],
        set_={
            "quantity": usage_hourly.c.quantity + statement.excluded.quantity,
            "event_count": usage_hourly.c.event_count + statement.excluded.event_count,
            "updated_at": func.now(),
        },
    )
    tconn = await _in(conn, schema_name)
    await tconn.execute(statement)


def usage_for_period(conn: Connection, schema_name: str, start: datetime, end: datetime) -> dict[str, Decimal]:
    """Total quantity per meter for [start, end): what an invoice bills."""
    tconn = conn.execution_options(schema_translate_map={"tenant": schema_name})
    rows = tconn.execute(
        select(usage_hourly.c.meter_slug, func.sum(usage_hourly.c.quantity))
        .where(usage_hourly.c.window_start >= start, usage_hourly.c.window_start < end)
        .group_by(usage_hourly.c.meter_slug)
    )
    return {slug: Decimal(total) for slug, total in rows}


async def usage_hours(conn: AsyncConnection, schema_name: str, meter_slug: str,
                      start: datetime, end: datetime) -> list[tuple[datetime, Decimal, int]]:
    tconn = await _in(conn, schema_name)
    rows = await tconn.execute(
        select(usage_hourly.c.window_start, usage_hourly.c.quantity, usage_hourly.c.event_count)
        .where(usage_hourly.c.meter_slug == meter_slug, usage_hourly.c.window_start >= start,
               usage_hourly.c.window_start < end)
        .order_by(usage_hourly.c.window_start)
    )
    return [(w, Decimal(q), c) for w, q, c in rows]
