"""What the stream did with a tenant's events, read from the tenant's own schema."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.postgres.tenants import TenantRecord
from warehouse.postgres.usage import duplicate_counts, list_dead_letters, pending_corrections

from ..errors import ApiError

__all__ = ["dead_letters", "duplicates_per_minute", "corrections"]


async def dead_letters(engine: AsyncEngine, tenant: TenantRecord, limit: int, before_id: int | None):
    async with engine.connect() as conn:
        return await list_dead_letters(conn, tenant.schema_name, limit, before_id)


async def duplicates_per_minute(engine: AsyncEngine, tenant: TenantRecord, start: datetime | None,
                                end: datetime | None) -> list[tuple[datetime, int]]:
    end = end or datetime.now(timezone.utc)
    start = start or end - timedelta(days=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "from and to need a UTC offset",
                       details=[{"field": "from/to", "location": "query", "reason": "naive datetime"}])
    async with engine.connect() as conn:
        return await duplicate_counts(conn, tenant.schema_name, start, end)


async def corrections(engine: AsyncEngine, tenant: TenantRecord):
    async with engine.connect() as conn:
        return await pending_corrections(conn, tenant.schema_name)
