"""What ingest needs of a tenant's meters to refuse values the stores cannot hold.

Ingest's side (async) of the meter table: per meter, the event type it counts, how,
from which value path, the group-by paths, and whether negative values are allowed.
The stream reads meters through warehouse.postgres.meters; this module reads only.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import meter

__all__ = ["MeterRuleRow", "meter_rule_rows", "set_allow_negative"]


class MeterRuleRow(NamedTuple):
    event_type: str
    aggregation: str
    value_path: str | None
    group_by: tuple[str, ...]
    allow_negative: bool


async def meter_rule_rows(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[MeterRuleRow]:
    rows = await conn.execute(
        select(meter.c.event_type, meter.c.aggregation, meter.c.value_path, meter.c.group_by,
               meter.c.allow_negative).where(meter.c.tenant_id == tenant_id))
    return [MeterRuleRow(r.event_type, r.aggregation, r.value_path, tuple(r.group_by or ()), r.allow_negative)
            for r in rows]


async def set_allow_negative(conn: AsyncConnection, tenant_id: uuid.UUID, slug: str, allow: bool) -> None:
    """Record a meter's choice; the admin API calls it in the transaction that creates the meter."""
    await conn.execute(update(meter).where(meter.c.tenant_id == tenant_id, meter.c.slug == slug)
                       .values(allow_negative=allow))
