"""Meter definitions in the shared schema."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from stream.aggregation import Meter

from .tables import meter

__all__ = ["insert_meter", "list_meters", "list_all_meters"]


def _meter(row) -> Meter:
    return Meter(row.tenant_id, row.slug, row.event_type, row.aggregation, row.value_path)


async def insert_meter(conn: AsyncConnection, definition: Meter) -> Meter:
    row = (await conn.execute(
        insert(meter).values(tenant_id=definition.tenant_id, slug=definition.slug, event_type=definition.event_type,
                             aggregation=definition.aggregation, value_path=definition.value_path)
        .returning(*meter.c)
    )).one()
    return _meter(row)


async def list_meters(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[Meter]:
    rows = await conn.execute(select(meter).where(meter.c.tenant_id == tenant_id).order_by(meter.c.slug))
    return [_meter(r) for r in rows]


async def list_all_meters(conn: AsyncConnection) -> list[Meter]:
    return [_meter(r) for r in await conn.execute(select(meter))]
