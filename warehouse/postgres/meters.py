"""Meter definitions in the shared schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update
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
    current = {}
    for tenant_id, slug, at in starts:
        row = (await conn.execute(
            update(meter).where(and_(meter.c.tenant_id == tenant_id, meter.c.slug == slug))
            .values(rollup_from=func.greatest(func.coalesce(meter.c.rollup_from, at), at))
            .returning(meter.c.rollup_from))).first()
        if row is not None:
            current[tenant_id, slug] = row[0]
    return current
