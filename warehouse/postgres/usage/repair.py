"""Usage windows as reconciling reads and repairs them (stream/reconcile.py): every
resolution of one meter over a period, and windows overwritten with repaired values."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from metering import STORED_RESOLUTIONS, Meter
from metering.reconcile import RepairedWindow, StoredWindow, WindowId

from ..tenant_scope import tenant_schema
from .windows import _WINDOW_TABLES, usage_windows

__all__ = ["meter_windows", "overwrite_windows"]


async def meter_windows(conn: AsyncConnection, tenant_id: uuid.UUID, meter_slug: str, start: datetime,
                        end: datetime) -> dict[WindowId, StoredWindow]:
    windows = {}
    for resolution in STORED_RESOLUTIONS:
        for row in await usage_windows(conn, tenant_id, meter_slug, start, end, resolution):
            windows[WindowId(resolution, row.window_start, row.group_key)] = StoredWindow(
                row.quantity, row.event_count, row.latest_at, row.latest_id, row.revision)
    return windows


async def overwrite_windows(conn: AsyncConnection, meter: Meter, repaired: Sequence[RepairedWindow]) -> None:
    """Each window set to its repaired value and revision (an empty one deleted): an
    absolute write, unlike the stream's merge, which the stream's next delta merges into."""
    if not repaired:
        return
    schema = await tenant_schema(conn, meter.tenant_id)
    for resolution, table in _WINDOW_TABLES.items():
        mine = [r for r in repaired if r.window.resolution == resolution]
        gone = [(r.window.window_start, r.window.group_key) for r in mine if r.value.empty]
        kept = [(r.window.window_start, r.window.group_key, str(r.value.quantity), r.value.event_count,
                 r.value.latest_at, r.value.latest_id, r.value.revision) for r in mine if not r.value.empty]
        if gone:
            await conn.execute(text(
                f'DELETE FROM "{schema}".{table} WHERE meter_slug = :slug AND (window_start, group_key) IN '
                "(SELECT CAST(e->>0 AS timestamptz), e->>1 FROM json_array_elements(CAST(:rows AS json)) AS e)"),
                {"slug": meter.slug, "rows": orjson.dumps(gone).decode()})
        if kept:
            await conn.execute(text(
                f'INSERT INTO "{schema}".{table} AS t (meter_slug, group_key, window_start, aggregation, quantity, '
                "event_count, latest_at, latest_id, revision) "
                "SELECT :slug, e->>1, CAST(e->>0 AS timestamptz), :aggregation, CAST(e->>2 AS numeric), "
                "CAST(e->>3 AS bigint), CAST(e->>4 AS timestamptz), e->>5, CAST(e->>6 AS bigint) "
                "FROM json_array_elements(CAST(:rows AS json)) AS e "
                "ON CONFLICT (meter_slug, window_start, group_key) DO UPDATE SET quantity = excluded.quantity, "
                "event_count = excluded.event_count, latest_at = excluded.latest_at, latest_id = excluded.latest_id, "
                "revision = excluded.revision, updated_at = now()"),
                {"slug": meter.slug, "aggregation": meter.aggregation, "rows": orjson.dumps(kept).decode()})
