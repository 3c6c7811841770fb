"""The dedup record (processed_event) and the tally of duplicates dropped.

The stream may deliver an event more than once (a crash, a rebalance); it is counted
by the one transaction that inserts its id into processed_event, so replays change
nothing. The record keeps the first copy's content digest: a later copy with another
digest is a conflict (a client reusing an id), recorded in duplicate_conflict.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import duplicate_conflict, duplicate_tally
from ..tenant_scope import tenant_schema, tenant_scope

__all__ = ["claim_new_events", "claim_new_events_by_tenant", "add_duplicates_by_tenant",
           "add_duplicate_conflicts_by_tenant", "committed_among", "prune_processed_events", "add_duplicates", "duplicate_counts",
           "add_duplicate_conflicts", "list_duplicate_conflicts", "DuplicateConflict"]


@dataclass(frozen=True)
class DuplicateConflict:
    id: int
    event_id: str
    first_digest: int
    duplicate_digest: int
    seen_at: datetime


async def claim_new_events(conn: AsyncConnection, tenant_id: uuid.UUID,
                           events: Sequence[tuple[str, datetime, int]]) -> set[str]:
    """Insert (id, time, content digest) into the dedup record; returns the ids that were not there yet."""
    return (await claim_new_events_by_tenant(conn, {tenant_id: events})).get(tenant_id, set())


async def claim_new_events_by_tenant(conn: AsyncConnection, claims: Mapping[uuid.UUID, Sequence[tuple[str, datetime, int]]]
                                     ) -> dict[uuid.UUID, set[str]]:
    """`claim_new_events` for several tenants in one statement, run in the mapping's order:
    one round trip per transaction, not one per tenant (bench/README.md, "Issue 16:
    per-event cost")."""
    tenants = [t for t, events in claims.items() if events]
    claimed: dict[uuid.UUID, set[str]] = {t: set() for t in claims}
    if not tenants:
        return claimed
    calls, params = [], {}
    for n, tenant_id in enumerate(tenants):
        # Each tenant's claim_events (stream_functions.py: its plan is made once per
        # session), in the mapping's order. One JSON text parameter per tenant, not a VALUES
        # row per event nor array parameters: orjson writes it in C (psycopg dumped arrays
        # element by element in Python, ~12% of the worker). json_to_recordset parses each
        # element once, where `e->>0` re-parsed it per column. Every new id comes back, as
        # one JSON array: returning only the ids not inserted (an anti-join over a
        # materialized input) cost more in PostgreSQL than it saved the worker, 8.7 against
        # 8.0 µs per event (bench/README.md, "Issue 16: lanes"); a row per id cost the worker
        # ~0.7 µs per event more ("Issue 16: windows as text, planned once").
        calls.append(f'SELECT {n}, "{await tenant_schema(conn, tenant_id)}".claim_events(CAST(:e{n} AS json))')
        params[f"e{n}"] = orjson.dumps([{"i": i, "t": t, "d": d} for i, t, d in claims[tenant_id]]).decode()
    for n, event_ids in await conn.execute(text(" UNION ALL ".join(calls)), params):
        if event_ids is not None:  # none new
            claimed[tenants[n]] = set(orjson.loads(event_ids))
    return claimed


async def committed_among(conn: AsyncConnection, tenant_id: uuid.UUID, events: Sequence[tuple[str, datetime]],
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
    schema_name = await tenant_schema(conn, tenant_id)
    result = await conn.execute(text(
        "SELECT e.n - 1 FROM json_array_elements(CAST(:events AS json)) WITH ORDINALITY AS e(v, n) "
        "WHERE CAST(e.v->>1 AS timestamptz) < statement_timestamp() - CAST(:horizon AS interval) "
        f'OR EXISTS (SELECT 1 FROM "{schema_name}".processed_event AS p '
        "WHERE p.event_id = e.v->>0 AND p.event_time > CAST(e.v->>1 AS timestamptz) - interval '1 millisecond' "
        "AND p.event_time < CAST(e.v->>1 AS timestamptz) + interval '1 millisecond')"),
        {"events": orjson.dumps(events).decode(), "horizon": f"{int(horizon.total_seconds())} seconds"})
    return set(result.scalars())


async def add_duplicates(conn: AsyncConnection, tenant_id: uuid.UUID, window_start: datetime, count: int) -> None:
    await add_duplicates_by_tenant(conn, window_start, {tenant_id: count})


async def add_duplicates_by_tenant(conn: AsyncConnection, window_start: datetime, counts: Mapping[uuid.UUID, int]) -> None:
    """Add each tenant's duplicates dropped to its tally of `window_start`, in one statement."""
    writes = []
    for n, tenant_id in enumerate(t for t, count in counts.items() if count > 0):
        schema_name = await tenant_schema(conn, tenant_id)
        writes.append(f'd{n} AS (INSERT INTO "{schema_name}".duplicate_tally AS t (window_start, event_count) '
                      f"VALUES (:window, {int(counts[tenant_id])}) ON CONFLICT (window_start) DO UPDATE SET "
                      "event_count = t.event_count + excluded.event_count, updated_at = now())")
    if writes:
        await conn.execute(text("WITH " + ", ".join(writes) + " SELECT 1"), {"window": window_start})


async def add_duplicate_conflicts(conn: AsyncConnection, tenant_id: uuid.UUID,
                                  duplicates: Sequence[tuple[str, int]]) -> int:
    """Record the duplicates, (id, content digest), whose digest differs from the first
    copy's in the dedup record (ids claimed earlier in the same transaction included);
    returns how many were conflicts. Runs only for batches with duplicates."""
    return (await add_duplicate_conflicts_by_tenant(conn, {tenant_id: duplicates})).get(tenant_id, 0)


async def add_duplicate_conflicts_by_tenant(conn: AsyncConnection, duplicates: Mapping[uuid.UUID, Sequence[tuple[str, int]]]
                                            ) -> dict[uuid.UUID, int]:
    """`add_duplicate_conflicts` for several tenants in one statement; conflicts per tenant."""
    tenants = [t for t, rows in duplicates.items() if rows]
    if not tenants:
        return {}
    inserts, reads, params = [], [], {}
    for n, tenant_id in enumerate(tenants):
        schema_name = await tenant_schema(conn, tenant_id)
        inserts.append(f'c{n} AS (INSERT INTO "{schema_name}".duplicate_conflict (event_id, first_digest, duplicate_digest) '
                       "SELECT p.event_id, p.content_digest, CAST(e->>1 AS bigint) "
                       f"FROM json_array_elements(CAST(:d{n} AS json)) AS e "
                       f'JOIN "{schema_name}".processed_event AS p ON p.event_id = e->>0 '
                       "WHERE p.content_digest <> CAST(e->>1 AS bigint) RETURNING 1)")
        reads.append(f"SELECT {n}, count(*) FROM c{n}")
        params[f"d{n}"] = orjson.dumps(duplicates[tenant_id]).decode()
    result = await conn.execute(text("WITH " + ", ".join(inserts) + " " + " UNION ALL ".join(reads)), params)
    return {tenants[n]: int(count) for n, count in result}


async def list_duplicate_conflicts(conn: AsyncConnection, tenant_id: uuid.UUID, start: datetime, end: datetime,
                                   limit: int) -> list[DuplicateConflict]:
    """Conflicts seen in [start, end), newest first."""
    rows = await (await tenant_scope(conn, tenant_id)).execute(
        select(duplicate_conflict).where(duplicate_conflict.c.seen_at >= start, duplicate_conflict.c.seen_at < end)
        .order_by(duplicate_conflict.c.id.desc()).limit(limit))
    return [DuplicateConflict(r.id, r.event_id, r.first_digest, r.duplicate_digest, r.seen_at) for r in rows]


async def prune_processed_events(conn: AsyncConnection, tenant_id: uuid.UUID, before: datetime, chunk: int) -> int:
    """Delete at most `chunk` dedup records older than `before`; returns how many went.
    Found through the BRIN index on event_time (tenant_0700)."""
    schema_name = await tenant_schema(conn, tenant_id)
    result = await conn.execute(text(
        f'DELETE FROM "{schema_name}".processed_event WHERE ctid = ANY(ARRAY('
        f'SELECT ctid FROM "{schema_name}".processed_event WHERE event_time < :before LIMIT :chunk))'
    ), {"before": before, "chunk": chunk})
    return result.rowcount


async def duplicate_counts(conn: AsyncConnection, tenant_id: uuid.UUID, start: datetime,
                           end: datetime) -> list[tuple[datetime, int]]:
    """Duplicates dropped per minute in [start, end), by when the stream saw them."""
    rows = await (await tenant_scope(conn, tenant_id)).execute(
        select(duplicate_tally.c.window_start, duplicate_tally.c.event_count)
        .where(duplicate_tally.c.window_start >= start, duplicate_tally.c.window_start < end)
        .order_by(duplicate_tally.c.window_start)
    )
    return [(w, int(c)) for w, c in rows]
