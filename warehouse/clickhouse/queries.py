"""Usage queries over rollups and raw events, and the choice between them.

Rollups answer when they are complete for the range: the meter was applied by the
stream before the range starts (`Meter.rollup_from`) and the range is aligned to a
rollup resolution (hour or day: metering.STORED_RESOLUTIONS) not coarser than the
requested window. Otherwise raw events answer, with the meter applied at query time: a
meter created after its events counts them, and every per-minute window is read there.
Both paths give the same numbers (tests/integration/test_stream_rollups.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal

import orjson

from metering.quantity import plain_quantity
from metering import RESOLUTION_STEP, STORED_RESOLUTIONS, Meter, Resolution, aggregation_for, period_total, window_start

__all__ = ["UsagePoint", "UsageSeries", "RAW_EVENT_COLUMNS", "ROLLUP_COLUMNS", "UNIQUE_VALUE_COLUMNS",
           "rollup_resolution", "usage_query", "unique_total_query", "parse_usage_rows", "series",
           "event_totals_query", "latest_event_times_query", "raw_events_query"]

RAW_EVENT_COLUMNS = ["tenant_id", "type", "time", "id", "source", "subject", "data", "received_at"]
ROLLUP_COLUMNS = ["tenant_id", "meter_slug", "resolution", "window_start", "group_key", "aggregation", "quantity",
                  "event_count", "latest_at", "latest_id", "revision"]
UNIQUE_VALUE_COLUMNS = ["tenant_id", "meter_slug", "group_key", "time", "value"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INTERVAL = {"minute": "INTERVAL 1 MINUTE", "hour": "INTERVAL 1 HOUR", "day": "INTERVAL 1 DAY"}


@dataclass(frozen=True)
class UsagePoint:
    window_start: datetime
    quantity: Decimal
    event_count: int
    group: Mapping[str, str | None] = field(default_factory=dict)
    latest_at: datetime | None = None  # LATEST: the (time, id) of the value's event
    latest_id: str | None = None


@dataclass(frozen=True)
class UsageSeries:
    points: list[UsagePoint]
    total_quantity: Decimal
    total_events: int
    read_from: str  # "rollup:<resolution>" or "raw": which data answered


def rollup_resolution(meter: Meter, start: datetime, end: datetime, window: Resolution) -> Resolution | None:
    """The coarsest rollup that answers [start, end) per `window` exactly, or None for raw events."""
    if meter.rollup_from is None or start < meter.rollup_from:
        return None
    for resolution in sorted(STORED_RESOLUTIONS, key=RESOLUTION_STEP.__getitem__, reverse=True):
        if (RESOLUTION_STEP[resolution] <= RESOLUTION_STEP[window]
                and window_start(start, resolution) == start and window_start(end, resolution) == end):
            return resolution
    return None


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _path(path: str) -> str:
    return ", ".join(_literal(part) for part in path.split("."))


def _property(path: str) -> str:
    """A JSON scalar as text, as metering reads it (strings as-is, other scalars
    as their JSON text), NULL when missing, null or not a scalar."""
    p = _path(path)
    return (f"multiIf(JSONType(data, {p}) = 'String', JSONExtractString(data, {p}), "
            f"JSONType(data, {p}) IN ('Int64', 'UInt64', 'Double', 'Bool'), JSONExtractRaw(data, {p}), NULL)")


def _number(path: str) -> str:
    # Decimal, not Float: quantities feed invoices. Numeric strings count, as in the stream.
    p = _path(path)
    return (f"toDecimal128OrNull(if(JSONType(data, {p}) = 'String', JSONExtractString(data, {p}), "
            f"if(JSONType(data, {p}) IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(data, {p}), '')), 9)")


def _raw_query(database: str, meter: Meter, window: Resolution) -> str:
    kind = aggregation_for(meter.aggregation)
    where = ""
    latest = "toDateTime64(0, 6, 'UTC'), ''"
    if not kind.needs_value:
        quantity = kind.clickhouse_raw
    else:
        # A value the stream would dead-letter is left out here too.
        value = (_property if kind.reads_text else _number)(meter.value_path or "")
        quantity, where = kind.clickhouse_raw.format(value=value), f" AND {value} IS NOT NULL"
    if kind.keeps_latest:
        latest = "toDateTime64(max((time, id)).1, 6, 'UTC'), max((time, id)).2"
    groups = ("[" + ", ".join(_property(p) for p in meter.group_by) + "]" if meter.group_by
              else "[]::Array(Nullable(String))")
    return (
        f"SELECT toStartOfInterval(time, {_INTERVAL[window]}) AS w, {groups} AS g, toString({quantity}) AS q, "
        f"count() AS c, {latest} "
        f"FROM {database}.events FINAL "
        "WHERE tenant_id = {tenant:UUID} AND type = {type:String} "
        "AND time >= {start:DateTime64(3)} AND time < {end:DateTime64(3)}"
        f"{where} GROUP BY w, g ORDER BY w, g"
    )


_ROLLUP_WHERE = ("WHERE tenant_id = {tenant:UUID} AND meter_slug = {slug:String} AND resolution = {resolution:String} "
                 "AND window_start >= {start:DateTime64(3)} AND window_start < {end:DateTime64(3)}")


def _rollup_query(database: str, meter: Meter, resolution: Resolution, window: Resolution) -> str:
    w = f"toStartOfInterval(window_start, {_INTERVAL[window]}) AS w"
    kind = aggregation_for(meter.aggregation)
    if not kind.combinable:
        # Distinct values from the states, event counts from the committed windows.
        return (
            f"SELECT w, group_key, toString(sum(q)), sum(c), toDateTime64(0, 6, 'UTC'), '' FROM ("
            f"SELECT {w}, group_key, {kind.clickhouse_rollup} AS q, toUInt64(0) AS c FROM {database}.usage_unique "
            f"{_ROLLUP_WHERE} GROUP BY w, group_key UNION ALL "
            f"SELECT {w}, group_key, toUInt64(0) AS q, sum(event_count) AS c FROM {database}.usage_rollup FINAL "
            f"{_ROLLUP_WHERE} GROUP BY w, group_key) GROUP BY w, group_key ORDER BY w, group_key"
        )
    return (
        f"SELECT {w}, group_key, toString({kind.clickhouse_rollup}), sum(event_count), max(latest_at), "
        f"argMax(latest_id, (latest_at, latest_id)) "
        f"FROM {database}.usage_rollup FINAL {_ROLLUP_WHERE} GROUP BY w, group_key ORDER BY w, group_key"
    )


def usage_query(database: str, meter: Meter, resolution: Resolution | None, window: Resolution) -> str:
    """Rows (window, group, quantity, events, latest_at, latest_id); parameters: tenant,
    type, start, end, and for rollups slug and resolution."""
    if resolution is None:
        return _raw_query(database, meter, window)
    return _rollup_query(database, meter, resolution, window)


def unique_total_query(database: str, meter: Meter, resolution: Resolution | None) -> str:
    """UNIQUE_COUNT over the whole range: distinct values are not a sum of windows'."""
    kind = aggregation_for(meter.aggregation)
    if resolution is None:
        value = _property(meter.value_path or "")
        return (f"SELECT toString({kind.clickhouse_raw.format(value=value)}) FROM {database}.events FINAL "
                "WHERE tenant_id = {tenant:UUID} AND type = {type:String} "
                f"AND time >= {{start:DateTime64(3)}} AND time < {{end:DateTime64(3)}} AND {value} IS NOT NULL")
    return f"SELECT toString({kind.clickhouse_rollup}) FROM {database}.usage_unique {_ROLLUP_WHERE}"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_usage_rows(meter: Meter, rows) -> list[UsagePoint]:
    """Points as stored: an AVG point's quantity is still its values' sum (see `series`)."""
    keeps_latest = aggregation_for(meter.aggregation).keeps_latest
    points = []
    for window, group, quantity, events, latest_at, latest_id in rows:
        if isinstance(group, str):
            values = orjson.loads(group)
        else:
            values = dict(zip(meter.group_by, group))
        q = Decimal(quantity)
        latest = _utc(latest_at) if keeps_latest and latest_at and _utc(latest_at) > _EPOCH else None
        points.append(UsagePoint(_utc(window), plain_quantity(q) if q else Decimal(0), int(events),
                                 values, latest, latest_id if latest else None))
    return points


def series(meter: Meter, points: list[UsagePoint], unique_total: Decimal | None, read_from: str) -> UsageSeries:
    """The period's total from the points as stored, then each point as its aggregation reads
    it (an AVG point's mean): a total from rounded means would drift."""
    kind = aggregation_for(meter.aggregation)
    total = period_total(meter.aggregation, points)
    if total is None:
        total = unique_total or Decimal(0)
    shown = [p if (value := kind.window_value(p.quantity, p.event_count)) is p.quantity else replace(p, quantity=value)
             for p in points]
    return UsageSeries(shown, total, sum(p.event_count for p in points), read_from)


def event_totals_query(database: str) -> str:
    """Distinct events per type for one tenant: what tests compare with what was sent."""
    return (
        f"SELECT type, count() FROM {database}.events FINAL "
        "WHERE tenant_id = {tenant:UUID} GROUP BY type ORDER BY type"
    )


def latest_event_times_query(database: str) -> str:
    """The latest time among raw events per (tenant, type), for many meters in one scan;
    the caller keeps the pairs it asked for (the IN lists also match crossed pairs)."""
    return (f"SELECT tenant_id, type, max(time) FROM {database}.events "
            "WHERE tenant_id IN {tenants:Array(UUID)} AND type IN {types:Array(String)} "
            "GROUP BY tenant_id, type")


def raw_events_query(database: str) -> str:
    """Raw events of some (tenant, type) pairs, for a new meter's backfill (stream/backfill.py);
    the caller keeps the pairs it asked for. FINAL collapses identical rows only: copies
    under two times both come back, and PostgreSQL's dedup record says which one counted."""
    return (f"SELECT tenant_id, type, time, id, source, subject, data FROM {database}.events FINAL "
            "WHERE tenant_id IN {tenants:Array(UUID)} AND type IN {types:Array(String)}")
