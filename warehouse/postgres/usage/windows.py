"""Usage windows: deltas merged into the hour and day tables (usage_hourly, usage_daily),
each row per meter and group, in the dedup record's transaction. Minutes are not stored
(metering.STORED_RESOLUTIONS): they are read from raw events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import NamedTuple

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from metering import NO_GROUP, STORABLE_QUANTITY, UsageDelta
from metering.aggregations import registered

from ..tables import usage_hourly
from ..tenant_scope import tenant_schema, tenant_scope

__all__ = ["WindowRow", "CommittedRollups", "ROLLUP_LINE_COLUMNS", "upsert_usage", "upsert_usage_as_rollups",
           "add_usage", "usage_hours", "usage_windows"]

_WINDOW_TABLES = {"hour": "usage_hourly", "day": "usage_daily"}  # metering.STORED_RESOLUTIONS

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
    """A usage window as committed: absolute values and the row's revision."""

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


# The columns of a CommittedRollups line, in order.
ROLLUP_LINE_COLUMNS = ["tenant_id", "resolution", "meter_slug", "window_start", "group_key", "aggregation", "quantity",
                       "event_count", "latest_at", "latest_id", "revision"]

_BOUND = format(STORABLE_QUANTITY, "f")
_NO_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)


class CommittedRollups(NamedTuple):
    """The windows a statement committed, for ClickHouse's rollups, encoded by PostgreSQL:
    one JSON array per line (ROLLUP_LINE_COLUMNS; quantity as exact decimal text, no
    latest event as the epoch and ""). `unstorable`: those lines whose quantity is beyond
    metering.STORABLE_QUANTITY, decoded."""

    lines: str
    unstorable: list[list]


def _payload(rows: Sequence[tuple[str, str, str, datetime, str, UsageDelta]]) -> str:
    # One JSON text parameter (see claim_new_events); quantities as exact decimal text.
    return orjson.dumps([(resolution, slug, group, window, aggregation, str(d.quantity), d.event_count,
                          d.latest_at, d.latest_id)
                         for resolution, slug, group, window, aggregation, d in rows]).decode()


async def upsert_usage_as_rollups(conn: AsyncConnection,
                                  rows: Mapping[uuid.UUID, Sequence[tuple[str, str, str, datetime, str, UsageDelta]]]
                                  ) -> CommittedRollups:
    """rows: per tenant, (resolution, meter slug, group key, window start, aggregation,
    delta), one per window, sorted. Merges each delta into its window by the meter's rule,
    all tenants in one statement calling each tenant's merge_usage_windows in the mapping's
    order (stream_functions.py), and returns the windows as committed, with their
    revisions, as text the stream passes to ClickHouse as it is: decoding a window's nine
    columns into Python objects and encoding them again cost the worker ~4 µs per event
    (bench/README.md, "Issue 16: windows as text, planned once")."""
    tenants = [t for t, tenant_rows in rows.items() if tenant_rows]
    if not tenants:
        return CommittedRollups("", [])
    calls, params = [], {}
    for n, tenant_id in enumerate(tenants):
        # The tenant id is ours (a UUID), so it may stand in the statement as text.
        calls.append(f'SELECT * FROM "{await tenant_schema(conn, tenant_id)}".merge_usage_windows('
                     f"CAST(:w{n} AS jsonb), '{uuid.UUID(str(tenant_id))}')")
        params[f"w{n}"] = _payload(rows[tenant_id])
    lines, unstorable = (await conn.execute(text(
        "SELECT string_agg(committed_line, E'\\n'), json_agg(committed_line::json) FILTER "
        f"(WHERE committed_quantity <= -{_BOUND} OR committed_quantity >= {_BOUND})::text "
        "FROM (" + " UNION ALL ".join(calls) + ") AS committed"), params)).one()
    return CommittedRollups(lines or "", orjson.loads(unstorable) if unstorable else [])


async def upsert_usage(conn: AsyncConnection, tenant_id: uuid.UUID,
                       rows: Sequence[tuple[str, str, str, datetime, str, UsageDelta]]) -> list[WindowRow]:
    """`upsert_usage_as_rollups` for one tenant, its windows as committed decoded (backfill
    and tests: not the stream's hot path)."""
    committed = await upsert_usage_as_rollups(conn, {tenant_id: rows})
    windows = []
    for line in filter(None, committed.lines.split("\n")):
        (_, resolution, slug, window, group, aggregation, quantity, count, latest_at, latest_id,
         revision) = orjson.loads(line)
        latest = datetime.fromisoformat(latest_at).astimezone(timezone.utc)
        windows.append(WindowRow(resolution, slug, group, datetime.fromisoformat(window).astimezone(timezone.utc),
                                 aggregation, Decimal(quantity), count, None if latest == _NO_TIME else latest,
                                 latest_id or None, revision))
    return windows


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
