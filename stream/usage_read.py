"""A meter's usage from PostgreSQL's committed windows, shaped as the ClickHouse reader's.

The stream writes each window to PostgreSQL and copies it, with its revision, to the
ClickHouse rollups in the same transaction; PostgreSQL's row is the committed one. So
when the rollups would answer at exactly the requested resolution
(`warehouse.clickhouse.queries.rollup_resolution`), PostgreSQL gives the same points with
one indexed read. Coarser windows from finer rows, and UNIQUE_COUNT (whose distinct values
only ClickHouse keeps), stay with ClickHouse.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from metering import Meter, Resolution
from warehouse.clickhouse.queries import UsageSeries, parse_usage_rows, series
from warehouse.postgres.tenant_scope import tenant_exists
from warehouse.postgres.usage import usage_windows

if TYPE_CHECKING:  # annotations only
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["committed_windows"]


async def committed_windows(conn: AsyncConnection, meter: Meter, start: datetime, end: datetime,
                            resolution: Resolution) -> UsageSeries:
    known = await tenant_exists(conn, meter.tenant_id)
    rows = await usage_windows(conn, meter.tenant_id, meter.slug, start, end, resolution) if known else []
    # Through the ClickHouse path's own row parser, so quantities, groups and LATEST's
    # (time, id) come out identical.
    return series(meter, parse_usage_rows(meter, [(r.window_start, r.group_key, r.quantity, r.event_count,
                                                   r.latest_at, r.latest_id) for r in rows]),
                  None, f"postgres:{resolution}")
