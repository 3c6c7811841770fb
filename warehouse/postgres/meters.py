"""Meter definitions in the shared schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import orjson
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from stream.aggregation import Meter

from .tables import meter

__all__ = ["insert_meter", "list_meters", "list_all_meters", "get_meter", "set_rollup_from"]


def _meter(row) -> Meter:
    return Meter(row.tenant_id, row.slug, row.event_type, row.aggregation, row.value_path,
                 tuple(row.group_by or ()), row.rollup_from)


async def insert_meter(conn: AsyncConnection, definition: Meter) -> Meter:
    row = (await conn.execute(
        insert(meter).values(tenant_id=definition.tenant_id, slug=definition.slug, event_type=definition.event_type,
                             aggregation=definition.aggregation, value_path=definition.value_path,
                             group_by=list(definition.group_by))
        .returning(*meter.c)
    )).one()
    return _meter(row)


async def list_meters(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[Meter]:
    rows = await conn.execute(select(meter).where(meter.c.tenant_id == tenant_id).order_by(meter.c.slug))
    return [_meter(r) for r in rows]


async def get_meter(conn: AsyncConnection, tenant_id: uuid.UUID, slug: str) -> Meter | None:
    row = (await conn.execute(select(meter).where(meter.c.tenant_id == tenant_id, meter.c.slug == slug))).one_or_none()
    return _meter(row) if row else None


async def list_all_meters(conn: AsyncConnection) -> list[Meter]:
    return [_meter(r) for r in await conn.execute(select(meter))]


async def set_rollup_from(conn: AsyncConnection,
                          starts: Iterable[tuple[uuid.UUID, str, datetime]]) -> dict[tuple[uuid.UUID, str], datetime]:
    """(tenant, slug, instant) from a worker that starts applying a meter; returns each
    meter's rollup_from as it now stands.

    The latest instant wins, atomically (GREATEST under the row lock): with several
    workers, each applies a new meter at its own refresh, and events any of them
    processed before that are missing from the rollups; the rollups are complete only
    after the last worker's instant (stream/README.md, "Rollups")."""
    rows = sorted({(str(tenant_id), slug): at for tenant_id, slug, at in starts}.items())
    if not rows:
        return {}
    # Two statements whatever the number of meters (a first refresh over 1,000 meters made
    # 1,000 round trips): lock the rows in (tenant, slug) order, so concurrent workers
    # wait for each other instead of deadlocking, then update them from one JSON parameter.
    starts_json = orjson.dumps([(tenant_id, slug, at) for (tenant_id, slug), at in rows]).decode()
    given = ("SELECT CAST(e->>0 AS uuid) AS tenant_id, e->>1 AS slug, CAST(e->>2 AS timestamptz) AS at "
             "FROM json_array_elements(CAST(:starts AS json)) AS e")
    await conn.execute(text(
        f"SELECT m.id FROM public.meter AS m JOIN ({given}) AS s ON m.tenant_id = s.tenant_id AND m.slug = s.slug "
        "ORDER BY m.tenant_id, m.slug FOR UPDATE OF m"), {"starts": starts_json})
    result = await conn.execute(text(
        "UPDATE public.meter AS m SET rollup_from = GREATEST(COALESCE(m.rollup_from, s.at), s.at) "
        f"FROM ({given}) AS s WHERE m.tenant_id = s.tenant_id AND m.slug = s.slug "
        "RETURNING m.tenant_id, m.slug, m.rollup_from"), {"starts": starts_json})
    current = {(tenant_id, slug): at for tenant_id, slug, at in result}
    return current
