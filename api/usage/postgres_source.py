"""Hourly usage from the tenant's PostgreSQL schema (`usage_hourly`, written by the stream).

The billing source of truth, and the same `usage(meter, start, end)` shape as the
ClickHouse reader, so it can stand in for it (GET /v1/usage/hourly?source=postgres,
and tests that must not depend on the stream worker owning chDB).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from stream.aggregation import Meter
from warehouse.postgres.tenants import get_tenant
from warehouse.postgres.usage import usage_hours

__all__ = ["HourlyUsage", "PostgresUsageReader"]


@dataclass(frozen=True)
class HourlyUsage:
    window_start: datetime
    quantity: Decimal
    event_count: int


class PostgresUsageReader:
    source = "postgres"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def usage(self, meter: Meter, start: datetime, end: datetime) -> list[HourlyUsage]:
        async with self._engine.connect() as conn:
            # The schema comes from the meter's own tenant, never from the caller.
            tenant = await get_tenant(conn, meter.tenant_id)
            if tenant is None:
                return []
            rows = await usage_hours(conn, tenant.schema_name, meter.slug, start, end)
        return [HourlyUsage(window_start, quantity, count) for window_start, quantity, count in rows]
