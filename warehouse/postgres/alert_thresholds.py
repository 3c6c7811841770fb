"""A tenant's own limit-alert thresholds (table of shared_1100): read and set by the admin
API (async); the limit check reads them with its subjects (billing_limits.PgLimitStore)."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, DateTime, Integer, Table, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .billing_tables import shared_metadata

__all__ = ["billing_alert_threshold", "get_alert_thresholds", "set_alert_thresholds"]

billing_alert_threshold = Table(
    "billing_alert_threshold", shared_metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("percents", ARRAY(Integer), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


async def get_alert_thresholds(conn: AsyncConnection, tenant_id: uuid.UUID) -> tuple[int, ...] | None:
    """The tenant's own thresholds, ascending; None when it uses the platform's default."""
    percents = (await conn.execute(select(billing_alert_threshold.c.percents)
                                   .where(billing_alert_threshold.c.tenant_id == tenant_id))).scalar_one_or_none()
    return tuple(sorted(percents)) if percents else None


async def set_alert_thresholds(conn: AsyncConnection, tenant_id: uuid.UUID,
                               percents: tuple[int, ...] | None) -> None:
    """Store the tenant's own thresholds (already validated), or with None go back to the default."""
    if percents is None:
        await conn.execute(delete(billing_alert_threshold).where(billing_alert_threshold.c.tenant_id == tenant_id))
        return
    values = {"percents": sorted(percents), "updated_at": func.now()}
    statement = pg_insert(billing_alert_threshold).values(tenant_id=tenant_id, **values)
    await conn.execute(statement.on_conflict_do_update(index_elements=["tenant_id"], set_=values))
