"""Hourly usage for billing: the rows a period's segments are rated from."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from billing_jobs.usage_totals import UsageHour

from .tables import meter, usage_hourly

__all__ = ["hourly_usage", "meter_aggregations"]


def hourly_usage(conn: Connection, schema_name: str, start: datetime, end: datetime) -> list[UsageHour]:
    """Every row (one per meter, hour and group) for windows starting in [start, end), in time order.

    Rows, not sums: how a meter's rows combine depends on its aggregation
    (billing_jobs.usage_totals), and a segment boundary may fall between them.
    """
    tconn = conn.execution_options(schema_translate_map={"tenant": schema_name})
    rows = tconn.execute(
        select(usage_hourly.c.meter_slug, usage_hourly.c.window_start, usage_hourly.c.quantity,
               usage_hourly.c.aggregation, usage_hourly.c.latest_at, usage_hourly.c.latest_id,
               usage_hourly.c.event_count)
        .where(usage_hourly.c.window_start >= start, usage_hourly.c.window_start < end)
        .order_by(usage_hourly.c.window_start, usage_hourly.c.meter_slug, usage_hourly.c.group_key)
    )
    return [UsageHour(slug, window, Decimal(quantity), aggregation, latest_at, latest_id, int(events))
            for slug, window, quantity, aggregation, latest_at, latest_id, events in rows]


def meter_aggregations(conn: Connection, tenant_id: uuid.UUID | str) -> dict[str, str]:
    """{meter slug: aggregation} of the tenant's meters, usage or not."""
    rows = conn.execute(select(meter.c.slug, meter.c.aggregation)
                        .where(meter.c.tenant_id == uuid.UUID(str(tenant_id))))
    return {slug: aggregation for slug, aggregation in rows}
