"""Usage windows: deltas merged into the minute, hour and day tables (usage_minute,
usage_hourly, usage_daily), each row per meter and group, in the dedup record's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import orjson
from sqlalchemy import Connection, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from metering import NO_GROUP, UsageDelta
from metering.aggregations import registered

from ..tables import usage_hourly
from ._scope import _in

__all__ = ["WindowRow", "upsert_usage", "add_usage", "usage_for_period", "usage_hours", "usage_windows"]

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


def _upsert_statement(schema_name: str) -> str:
    writes = []
    for resolution, table in _WINDOW_TABLES.items():
        writes.append(f"""w_{resolution} AS (
            INSERT INTO "{schema_name}".{table} AS t
                (meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id)
            SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id
            FROM input WHERE res = '{resolution}'{_MERGE})""")
    reads = " UNION ALL ".join(f"SELECT '{r}'::text, * FROM w_{r}" for r in _WINDOW_TABLES)
    return (
        "WITH input AS (SELECT e->>0 AS res, e->>1 AS meter_slug, e->>2 AS group_key, "
        "CAST(e->>3 AS timestamptz) AS window_start, e->>4 AS aggregation, CAST(e->>5 AS numeric) AS quantity, "
        "CAST(e->>6 AS bigint) AS event_count, CAST(e->>7 AS timestamptz) AS latest_at, e->>8 AS latest_id "
        "FROM json_array_elements(CAST(:rows AS json)) AS e), "
        + ", ".join(writes) + " " + reads
    )


async def upsert_usage(conn: AsyncConnection, schema_name: str,
                       rows: Sequence[tuple[str, str, str, datetime, str, UsageDelta]]) -> list[WindowRow]:
    """rows: (resolution, meter slug, group key, window start, aggregation, delta), one per
    window. Merges each delta into its window and returns the windows as committed,
    with their revisions: what the ClickHouse rollups copy (stream/sinks/postgres.py).

    One statement for the three window tables (data-modifying CTEs): one round trip per
    tenant and batch, whatever the number of windows."""
    if not rows:
        return []
    # One JSON text parameter (see claim_new_events); quantities as exact decimal text.
    payload = orjson.dumps([(resolution, slug, group, window, aggregation, str(d.quantity), d.event_count,
                             d.latest_at, d.latest_id) for resolution, slug, group, window, aggregation, d in rows])
    result = await conn.execute(text(_upsert_statement(schema_name)), {"rows": payload.decode()})
    # psycopg already gives numeric as Decimal and bigint as int.
    return [WindowRow(*r) for r in result]


async def add_usage(conn: AsyncConnection, schema_name: str,
                    deltas: Iterable[tuple[str, datetime, UsageDelta]]) -> list[WindowRow]:
    """Additive hourly usage without groups, as billing tests seed it."""
    return await upsert_usage(conn, schema_name, [("hour", slug, NO_GROUP, window, "SUM", d)
                                                  for slug, window, d in deltas])


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
    """Per hour, summed over groups: the usage of an additive (COUNT, SUM) meter."""
    tconn = await _in(conn, schema_name)
    rows = await tconn.execute(
        select(usage_hourly.c.window_start, func.sum(usage_hourly.c.quantity), func.sum(usage_hourly.c.event_count))
        .where(usage_hourly.c.meter_slug == meter_slug, usage_hourly.c.window_start >= start,
               usage_hourly.c.window_start < end)
        .group_by(usage_hourly.c.window_start)
        .order_by(usage_hourly.c.window_start)
    )
    return [(w, Decimal(q), int(c)) for w, q, c in rows]


async def usage_windows(conn: AsyncConnection, schema_name: str, meter_slug: str, start: datetime, end: datetime,
                        resolution: str = "hour") -> list[WindowRow]:
    """Every (window, group) row of one meter in [start, end), at one resolution."""
    result = await conn.execute(text(
        f'SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id, '
        f'revision FROM "{schema_name}".{_WINDOW_TABLES[resolution]} '
        "WHERE meter_slug = :slug AND window_start >= :start AND window_start < :end ORDER BY window_start, group_key"
    ), {"slug": meter_slug, "start": start, "end": end})
    return [WindowRow(resolution, r[0], r[1], r[2], r[3], Decimal(r[4]), int(r[5]), r[6], r[7], int(r[8]))
            for r in result]
