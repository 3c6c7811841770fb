"""The dedup record (processed_event) and the tally of duplicates dropped.

The stream may deliver an event more than once (a crash, a rebalance); it is counted
by the one transaction that inserts its id into processed_event, so replays change
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import duplicate_tally
from ._scope import _in

__all__ = ["claim_new_events", "committed_among", "prune_processed_events", "add_duplicates", "duplicate_counts"]


async def claim_new_events(conn: AsyncConnection, schema_name: str,
                           events: Sequence[tuple[str, datetime]]) -> set[str]:
    """Insert (id, time) pairs into the dedup record; returns the ids that were not there yet."""
    if not events:
        return set()
    # One JSON text parameter, not a VALUES row per event nor array parameters: orjson
    # writes it in C, where psycopg dumped arrays element by element in Python (~12% of
    # the worker), and the statement stays one short string.
    statement = text(
        f'INSERT INTO "{schema_name}".processed_event (event_id, event_time) '
        "SELECT e->>0, CAST(e->>1 AS timestamptz) FROM json_array_elements(CAST(:events AS json)) AS e "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    )
    result = await conn.execute(statement, {"events": orjson.dumps(events).decode()})
    return set(result.scalars())


async def committed_among(conn: AsyncConnection, schema_name: str, events: Sequence[tuple[str, datetime]],
                          horizon: timedelta) -> set[int]:
    """Positions in `events` ((id, time) pairs read from ClickHouse's raw table) of the
    events a committed batch counted: their dedup record holds that id with that time.
    Raw rows of a batch killed before its commit have no record yet (its replay claims
    them) or one with another copy's time. Records are pruned beyond the horizon, and only
    committed batches' raw rows are that old, so older events count without one
    (statement_timestamp: a prune committed before this statement used an earlier cutoff).
    Times match to the millisecond: ClickHouse keeps milliseconds, the record microseconds."""
    if not events:
        return set()
    result = await conn.execute(text(
        "SELECT e.n - 1 FROM json_array_elements(CAST(:events AS json)) WITH ORDINALITY AS e(v, n) "
        "WHERE CAST(e.v->>1 AS timestamptz) < statement_timestamp() - CAST(:horizon AS interval) "
        f'OR EXISTS (SELECT 1 FROM "{schema_name}".processed_event AS p '
        "WHERE p.event_id = e.v->>0 AND p.event_time > CAST(e.v->>1 AS timestamptz) - interval '1 millisecond' "
        "AND p.event_time < CAST(e.v->>1 AS timestamptz) + interval '1 millisecond')"),
        {"events": orjson.dumps(events).decode(), "horizon": f"{int(horizon.total_seconds())} seconds"})
    return set(result.scalars())


async def add_duplicates(conn: AsyncConnection, schema_name: str, window_start: datetime, count: int) -> None:
    if count <= 0:
        return
    statement = pg_insert(duplicate_tally).values(window_start=window_start, event_count=count)
    statement = statement.on_conflict_do_update(
        index_elements=["window_start"],
        set_={"event_count": duplicate_tally.c.event_count + statement.excluded.event_count, "updated_at": func.now()},
    )
    await (await _in(conn, schema_name)).execute(statement)


async def prune_processed_events(conn: AsyncConnection, schema_name: str, before: datetime, chunk: int) -> int:
    """Delete at most `chunk` dedup records older than `before`; returns how many went."""
    result = await (await _in(conn, schema_name)).execute(text(
        f'DELETE FROM "{schema_name}".processed_event WHERE ctid = ANY(ARRAY('
        f'SELECT ctid FROM "{schema_name}".processed_event WHERE event_time < :before LIMIT :chunk))'
    ), {"before": before, "chunk": chunk})
    return result.rowcount


async def duplicate_counts(conn: AsyncConnection, schema_name: str, start: datetime,
                           end: datetime) -> list[tuple[datetime, int]]:
    """Duplicates dropped per minute in [start, end), by when the stream saw them."""
    rows = await (await _in(conn, schema_name)).execute(
        select(duplicate_tally.c.window_start, duplicate_tally.c.event_count)
        .where(duplicate_tally.c.window_start >= start, duplicate_tally.c.window_start < end)
        .order_by(duplicate_tally.c.window_start)
    )
    return [(w, int(c)) for w, c in rows]
