"""Queries over raw events. Meters are applied at query time, so a meter created after
its events arrived counts them too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from stream.aggregation import Meter

__all__ = ["UsagePoint", "RAW_EVENT_COLUMNS", "usage_query", "parse_usage_rows", "event_totals_query"]

RAW_EVENT_COLUMNS = ["tenant_id", "type", "time", "id", "source", "subject", "data", "received_at"]


@dataclass(frozen=True)
class UsagePoint:
    window_start: datetime
    quantity: Decimal
    event_count: int


def usage_query(database: str, meter: Meter) -> str:
    """Hourly usage of one meter; parameters: tenant, type, start, end."""
    if meter.aggregation == "COUNT":
        quantity = "toString(count())"
        where_value = ""
    else:
        path = ", ".join("'" + part.replace("'", "") + "'" for part in (meter.value_path or "").split("."))
        # Decimal, not Float: quantities feed invoices. Non-numeric values are the
        # stream's dead letters and are left out here too.
        value = f"toDecimal128OrNull(JSONExtractRaw(data, {path}), 9)"
        quantity = f"toString(sum({value}))"
        where_value = f" AND {value} IS NOT NULL"
    return (
        f"SELECT toStartOfHour(time) AS window_start, {quantity} AS quantity, count() AS events "
        f"FROM {database}.events FINAL "
        "WHERE tenant_id = {tenant:UUID} AND type = {type:String} "
        "AND time >= {start:DateTime64(3)} AND time < {end:DateTime64(3)}"
        f"{where_value} GROUP BY window_start ORDER BY window_start"
    )


def parse_usage_rows(rows) -> list[UsagePoint]:
    return [UsagePoint(window, Decimal(quantity).normalize() if Decimal(quantity) else Decimal(0), int(events))
            for window, quantity, events in rows]


def event_totals_query(database: str) -> str:
    """Distinct events per type for one tenant: what tests compare with what was sent."""
    return (
        f"SELECT type, count() FROM {database}.events FINAL "
        "WHERE tenant_id = {tenant:UUID} GROUP BY type ORDER BY type"
    )
