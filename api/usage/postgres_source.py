"""Hourly usage from the tenant's PostgreSQL schema (`usage_hourly`, written by the stream).

The billing source of truth, and the same `usage(meter, start, end)` shape as the
ClickHouse reader, so it can stand in for it (GET /v1/usage/hourly?source=postgres,
and tests that must not depend on the stream worker owning chDB).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import orjson

from metering import Meter, Resolution, aggregation_for, period_total
from warehouse.clickhouse.queries import UsagePoint, UsageSeries
from warehouse.postgres.database import Database, Engine
from warehouse.postgres.tenants import get_tenant
from warehouse.postgres.usage import usage_windows

from ..domain_errors import InvalidInput

__all__ = ["PostgresUsageReader"]


class PostgresUsageReader:
    source = "postgres"

    def __init__(self, engine: Engine) -> None:
        self._database = Database(engine)

    async def usage(self, meter: Meter, start: datetime, end: datetime, window: Resolution = "hour") -> UsageSeries:
        kind = aggregation_for(meter.aggregation)
        if not kind.combinable:
            # PostgreSQL keeps no values, and distinct counts do not add up across windows.
            raise InvalidInput(f"{kind.name} usage is computed in ClickHouse: use GET /v1/usage",
                               code="unsupported_aggregation")
        async with self._database.connect() as conn:
            # The schema comes from the meter's own tenant, never from the caller.
            tenant = await get_tenant(conn, meter.tenant_id)
            if tenant is None:
                return UsageSeries([], Decimal(0), 0, "postgres")
            rows = await usage_windows(conn, tenant.schema_name, meter.slug, start, end, window)
        # The total from the windows as stored, each point as its aggregation reads it (an AVG's mean).
        total = period_total(meter.aggregation, rows)
        points = [UsagePoint(r.window_start, kind.window_value(r.quantity, r.event_count), r.event_count,
                             orjson.loads(r.group_key), r.latest_at, r.latest_id) for r in rows]
        return UsageSeries(points, total, sum(p.event_count for p in points), f"postgres:{window}")
