"""A meter's usage from PostgreSQL's committed windows, shaped as the ClickHouse reader's.

The stream writes each window to PostgreSQL and copies it, with its revision, to the
ClickHouse rollups in the same transaction; PostgreSQL's row is the committed one. So
when the rollups would answer at exactly the requested resolution
(`warehouse.clickhouse.queries.rollup_resolution`), PostgreSQL gives the same points with
one indexed read. Coarser windows from finer rows, and UNIQUE_COUNT (whose distinct values
only ClickHouse keeps), stay with ClickHouse.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from metering import Meter, Resolution
from warehouse.clickhouse.queries import UsageSeries, parse_usage_rows, series
from warehouse.postgres.tables import tenant
from warehouse.postgres.usage import usage_windows

__all__ = ["committed_windows", "tenant_schema"]


async def tenant_schema(conn: AsyncConnection, tenant_id: uuid.UUID, known: dict[uuid.UUID, str]) -> str | None:
    """The tenant's schema name, remembered in `known`: a schema never changes its name."""
    if tenant_id not in known:
        schema_name = (await conn.execute(select(tenant.c.schema_name).where(tenant.c.id == tenant_id))
                       ).scalar_one_or_none()
        if schema_name is None:
            return None
        known[tenant_id] = schema_name
    return known[tenant_id]


async def committed_windows(conn: AsyncConnection, meter: Meter, start: datetime, end: datetime,
                            resolution: Resolution, schemas: dict[uuid.UUID, str]) -> UsageSeries:
    schema_name = await tenant_schema(conn, meter.tenant_id, schemas)
    rows = [] if schema_name is None else await usage_windows(conn, schema_name, meter.slug, start, end, resolution)
    # Through the ClickHouse path's own row parser, so quantities, groups and LATEST's
    # (time, id) come out identical.
    return series(meter, parse_usage_rows(meter, [(r.window_start, r.group_key, r.quantity, r.event_count,
                                                   r.latest_at, r.latest_id) for r in rows]),
                  None, f"postgres:{resolution}")
