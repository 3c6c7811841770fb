"""Usage windows: deltas merged into the minute, hour and day tables (usage_minute,
usage_hourly, usage_daily), each row per meter and group, in the dedup record's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from metering import NO_GROUP, STORABLE_QUANTITY, UsageDelta
from metering.aggregations import registered

from ..tables import usage_hourly
from ..tenant_scope import tenant_schema, tenant_scope

__all__ = ["WindowRow", "CommittedRollups", "ROLLUP_LINE_COLUMNS", "upsert_usage", "upsert_usage_by_tenant",
           "upsert_usage_as_rollups", "add_usage", "usage_hours", "usage_windows"]

_WINDOW_TABLES = {"minute": "usage_minute", "hour": "usage_hourly", "day": "usage_daily"}

# How a window's row absorbs a new delta: each aggregation's own fragment
# (metering.aggregations, the same rules as its `add` and `merge`), chosen by the row's
# aggregation; rows of a name no class answers to add up, as SUM's.
_QUANTITY = ("CASE t.aggregation "
             + " ".join(f"WHEN '{kind.name}' THEN {kind.postgres_merge}" for kind in registered())
             + " ELSE t.quantity + excluded.quantity END")

_NEWER = ('(excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C")')

_MERGE = f"""
    ON CONFLICT (meter_slug, window_start, group_key) DO UPDATE SET
        quantity = {_QUANTITY},
        latest_at = CASE WHEN t.latest_at IS NULL OR {_NEWER} THEN excluded.latest_at ELSE t.latest_at END,
        latest_id = CASE WHEN t.latest_at IS NULL OR {_NEWER} THEN excluded.latest_id ELSE t.latest_id END,
        event_count = t.event_count + excluded.event_count,
        revision = t.revision + 1,
        updated_at = now()
    RETURNING t.meter_slug, t.group_key, t.window_start, t.aggregation, t.quantity, t.event_count,
              t.latest_at, t.latest_id, t.revision"""


class WindowRow(NamedTuple):
    """A usage window as committed: absolute values and the row's revision. A NamedTuple:
    the stream gets about one per event back from its upserts."""

    resolution: str
    meter_slug: str
    group_key: str
    window_start: datetime
    aggregation: str
    quantity: Decimal
    event_count: int
    latest_at: datetime | None
    latest_id: str | None
    revision: int


def _tenant_upserts(n: int, schema_name: str) -> list[str]:
    """The CTEs merging tenant `n`'s rows (parameter `w<n>`) into its three window tables,
    `w<n>_<resolution>`, each returning its rows as committed."""
    # jsonb, not json: `e->>k` on a json element parses the element again for each column
    # (9 per row, ~7 µs a row in PostgreSQL), on a jsonb one it is an indexed read.
    writes = [f"i{n} AS (SELECT e->>0 AS res, e->>1 AS meter_slug, e->>2 AS group_key, "
              "CAST(e->>3 AS timestamptz) AS window_start, e->>4 AS aggregation, CAST(e->>5 AS numeric) AS quantity, "
              "CAST(e->>6 AS bigint) AS event_count, CAST(e->>7 AS timestamptz) AS latest_at, e->>8 AS latest_id "
              f"FROM jsonb_array_elements(CAST(:w{n} AS jsonb)) AS e)"]
    for resolution, table in _WINDOW_TABLES.items():
        writes.append(f"""w{n}_{resolution} AS (
            INSERT INTO "{schema_name}".{table} AS t
                (meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id)
            SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id
            FROM i{n} WHERE res = '{resolution}'{_MERGE})""")
    return writes


def _payload(rows: Sequence[tuple[str, str, str, datetime, str, UsageDelta]]) -> str:
    # One JSON text parameter (see claim_new_events); quantities as exact decimal text.
    return orjson.dumps([(resolution, slug, group, window, aggregation, str(d.quantity), d.event_count,
                          d.latest_at, d.latest_id)
                         for resolution, slug, group, window, aggregation, d in rows]).decode()


async def upsert_usage(conn: AsyncConnection, tenant_id: uuid.UUID,
                       rows: Sequence[tuple[str, str, str, datetime, str, UsageDelta]]) -> list[WindowRow]:
    """rows: (resolution, meter slug, group key, window start, aggregation, delta), one per
    window. Merges each delta into its window and returns the windows as committed,
    with their revisions: what the ClickHouse rollups copy (stream/sinks/postgres.py)."""
    return [WindowRow(*row) for row in (await upsert_usage_by_tenant(conn, {tenant_id: rows})).get(tenant_id, [])]


async def upsert_usage_by_tenant(conn: AsyncConnection,
                                 rows: Mapping[uuid.UUID, Sequence[tuple[str, str, str, datetime, str, UsageDelta]]]
                                 ) -> dict[uuid.UUID, list[tuple]]:
    """`upsert_usage` for several tenants in one statement (data-modifying CTEs, three per
    tenant, run in the mapping's order): one round trip per transaction, whatever the
    number of tenants and windows. Returns each tenant's windows as committed, as plain
    WindowRow-ordered tuples: the stream gets about one per event back."""
    tenants = [t for t, tenant_rows in rows.items() if tenant_rows]
    committed: dict[uuid.UUID, list[tuple]] = {t: [] for t in tenants}
    if not tenants:
        return committed
    writes, reads, params = [], [], {}
    for n, tenant_id in enumerate(tenants):
        writes += _tenant_upserts(n, await tenant_schema(conn, tenant_id))
        reads += [f"SELECT {n}, '{r}'::text, * FROM w{n}_{r}" for r in _WINDOW_TABLES]
        params[f"w{n}"] = _payload(rows[tenant_id])
    result = await conn.execute(text("WITH " + ", ".join(writes) + " " + " UNION ALL ".join(reads)), params)
    # psycopg already gives numeric as Decimal and bigint as int.
    for n, *row in result.tuples():
        committed[tenants[n]].append(tuple(row))
    return committed


# The columns of a CommittedRollups line, in order.
ROLLUP_LINE_COLUMNS = ["tenant_id", "resolution", "meter_slug", "window_start", "group_key", "aggregation", "quantity",
                       "event_count", "latest_at", "latest_id", "revision"]

_BOUND = format(STORABLE_QUANTITY, "f")


class CommittedRollups(NamedTuple):
    """The windows a statement committed, for ClickHouse's rollups, encoded by PostgreSQL:
    one JSON array per line (ROLLUP_LINE_COLUMNS; quantity as exact decimal text, no
    latest event as the epoch and ""). `unstorable`: those lines whose quantity is beyond
    metering.STORABLE_QUANTITY, decoded."""

    lines: str
    unstorable: list[list]


async def upsert_usage_as_rollups(conn: AsyncConnection,
                                  rows: Mapping[uuid.UUID, Sequence[tuple[str, str, str, datetime, str, UsageDelta]]]
                                  ) -> CommittedRollups:
    """`upsert_usage_by_tenant`, returning the committed windows as text the stream passes
    to ClickHouse as it is: decoding a window's nine columns into Python objects and
    encoding them again cost the worker ~4 µs per event (bench/README.md, "Issue 16:
    windows as text"), PostgreSQL's JSON costs it nothing more."""
    tenants = [t for t, tenant_rows in rows.items() if tenant_rows]
    if not tenants:
        return CommittedRollups("", [])
    writes, reads, params = [], [], {}
    for n, tenant_id in enumerate(tenants):
        writes += _tenant_upserts(n, await tenant_schema(conn, tenant_id))
        # The tenant id is ours (a UUID), so it may stand in the statement as text.
        reads += [f"SELECT json_build_array('{uuid.UUID(str(tenant_id))}', '{r}', meter_slug, window_start, group_key, "
                  "aggregation, quantity::text, event_count, coalesce(latest_at, 'epoch'), coalesce(latest_id, ''), "
                  f"revision)::text AS line, quantity FROM w{n}_{r}" for r in _WINDOW_TABLES]
        params[f"w{n}"] = _payload(rows[tenant_id])
    # The aggregate reads the CTEs in tenant order, as upsert_usage_by_tenant's UNION ALL.
    lines, unstorable = (await conn.execute(text(
        "WITH " + ", ".join(writes) + " SELECT string_agg(line, E'\\n'), "
        f"json_agg(line::json) FILTER (WHERE quantity <= -{_BOUND} OR quantity >= {_BOUND})::text "
        "FROM (" + " UNION ALL ".join(reads) + ") AS committed"), params)).one()
    return CommittedRollups(lines or "", orjson.loads(unstorable) if unstorable else [])


async def add_usage(conn: AsyncConnection, tenant_id: uuid.UUID,
                    deltas: Iterable[tuple[str, datetime, UsageDelta]]) -> list[WindowRow]:
    """Additive hourly usage without groups, as billing tests seed it."""
    return await upsert_usage(conn, tenant_id, [("hour", slug, NO_GROUP, window, "SUM", d)
                                                  for slug, window, d in deltas])


async def usage_hours(conn: AsyncConnection, tenant_id: uuid.UUID, meter_slug: str,
                      start: datetime, end: datetime) -> list[tuple[datetime, Decimal, int]]:
    """Per hour, summed over groups: the usage of an additive (COUNT, SUM) meter."""
    tconn = await tenant_scope(conn, tenant_id)
    rows = await tconn.execute(
        select(usage_hourly.c.window_start, func.sum(usage_hourly.c.quantity), func.sum(usage_hourly.c.event_count))
        .where(usage_hourly.c.meter_slug == meter_slug, usage_hourly.c.window_start >= start,
               usage_hourly.c.window_start < end)
        .group_by(usage_hourly.c.window_start)
        .order_by(usage_hourly.c.window_start)
    )
    return [(w, Decimal(q), int(c)) for w, q, c in rows]


async def usage_windows(conn: AsyncConnection, tenant_id: uuid.UUID, meter_slug: str, start: datetime, end: datetime,
                        resolution: str = "hour") -> list[WindowRow]:
    """Every (window, group) row of one meter in [start, end), at one resolution."""
    schema_name = await tenant_schema(conn, tenant_id)
    result = await conn.execute(text(
        f'SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id, '
        f'revision FROM "{schema_name}".{_WINDOW_TABLES[resolution]} '
        "WHERE meter_slug = :slug AND window_start >= :start AND window_start < :end ORDER BY window_start, group_key"
    ), {"slug": meter_slug, "start": start, "end": end})
    return [WindowRow(resolution, r[0], r[1], r[2], r[3], Decimal(r[4]), int(r[5]), r[6], r[7], int(r[8]))
            for r in result]
