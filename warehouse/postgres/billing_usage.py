"""Hourly usage for billing: the rows a period's segments are rated from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from billing_jobs.usage_totals import UsageHour

from .tables import meter, usage_hourly
from .tenant_scope import tenant_scope_sync

__all__ = ["MeterWindow", "hourly_usage", "meter_aggregations", "meter_windows"]


def hourly_usage(conn: Connection, tenant_id: uuid.UUID, start: datetime, end: datetime) -> list[UsageHour]:
    """Every row (one per meter, hour and group) for windows starting in [start, end), in time order.

    Rows, not sums: how a meter's rows combine depends on its aggregation
    (billing_jobs.usage_totals), and a segment boundary may fall between them.
    """
    tconn = tenant_scope_sync(conn, tenant_id)
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


@dataclass(frozen=True)
class MeterWindow:
    """One usage_hourly row of a meter: an hour of one group (group_key: metering.group_key)."""

    window_start: datetime
    group_key: str
    usage: UsageHour


def meter_windows(conn: Connection, tenant_id: uuid.UUID, meter_slug: str, start: datetime,
                  end: datetime) -> list[MeterWindow]:
    """The meter's rows for windows starting in [start, end), in time and group order: the
    windows an invoice line was rated from (billing_jobs.line_usage)."""
    tconn = tenant_scope_sync(conn, tenant_id)
    rows = tconn.execute(
        select(usage_hourly.c.window_start, usage_hourly.c.group_key, usage_hourly.c.quantity,
               usage_hourly.c.aggregation, usage_hourly.c.latest_at, usage_hourly.c.latest_id,
               usage_hourly.c.event_count)
        .where(usage_hourly.c.meter_slug == meter_slug, usage_hourly.c.window_start >= start,
               usage_hourly.c.window_start < end)
        .order_by(usage_hourly.c.window_start, usage_hourly.c.group_key))
    return [MeterWindow(window, group, UsageHour(meter_slug, window, Decimal(quantity), aggregation, latest_at,
                                                 latest_id, int(events)))
            for window, group, quantity, aggregation, latest_at, latest_id, events in rows]
