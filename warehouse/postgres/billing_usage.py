"""Hourly usage for billing: the rows a period's segments are rated from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from .tables import usage_hourly

__all__ = ["hourly_usage"]


def hourly_usage(conn: Connection, schema_name: str, start: datetime, end: datetime) -> list[tuple[str, datetime, Decimal]]:
    """(meter slug, window start, quantity) for windows starting in [start, end), in time order."""
    tconn = conn.execution_options(schema_translate_map={"tenant": schema_name})
    rows = tconn.execute(
        select(usage_hourly.c.meter_slug, usage_hourly.c.window_start, usage_hourly.c.quantity)
        .where(usage_hourly.c.window_start >= start, usage_hourly.c.window_start < end)
        .order_by(usage_hourly.c.window_start, usage_hourly.c.meter_slug)
    )
    return [(slug, window, Decimal(quantity)) for slug, window, quantity in rows]
