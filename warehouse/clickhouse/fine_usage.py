"""A meter's usage per fine UTC window, as stored, for regrouping into a caller's zone
windows and groups (metering.regroup); and the tenant's recent raw events (the event view).

Which data answers:
- rollups (`usage_rollup`, hour and day rows per meter and group) when the windows asked
  for are built from hours or days, the meter's rollups cover the range
  (`Meter.rollup_from`), the aggregation combines across windows, and no subject is asked
  for. Minutes are not stored (metering.STORED_RESOLUTIONS): a half-hour zone's days
  (Asia/Kolkata) take their whole UTC hours from the rollups and only the hours a window
  edge cuts from raw events, minute by minute (metering.zone_windows.cut_hours);
- raw events otherwise, with the meter applied at query time. Rollups keep no subject
  (a per-subject rollup would multiply the rollup rows by the tenant's subjects for a
  view that is asked for rarely), so grouping by subject reads raw events; so do
  UNIQUE_COUNT meters, whose fine windows carry their distinct values
  (groupUniqArray) because distinct counts do not add up. Raw reads are bounded by the
  range limits of api/usage/service.py (366 days; minute windows 7 days).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import orjson

from meterline.settings import ClickHouseSettings
from metering import STORED_RESOLUTIONS, Meter, Resolution, aggregation_for
from metering.regroup import FinePoint
from metering.zone_windows import cut_hours

from .queries import _number, _property

__all__ = ["FineUsageReader", "RawEventRow", "MeteredEventRow", "fine_usage_query", "meter_events_query",
           "build_fine_usage_reader"]

_INTERVAL = {"minute": "INTERVAL 1 MINUTE", "hour": "INTERVAL 1 HOUR", "day": "INTERVAL 1 DAY"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def reads_rollups(meter: Meter, start: datetime, resolution: Resolution, by_subject: bool) -> bool:
    return (not by_subject and resolution in STORED_RESOLUTIONS and aggregation_for(meter.aggregation).combinable
            and meter.rollup_from is not None and start >= meter.rollup_from)


def _within(spans: Sequence[tuple[datetime, datetime]]) -> str:
    """A condition keeping only `spans` of the range (instants we computed, as literals):
    ClickHouse reads just their parts of the primary key."""
    def at(moment: datetime) -> str:
        return f"toDateTime64('{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S.%f}', 6, 'UTC')"
    return " AND (" + " OR ".join(f"(time >= {at(a)} AND time < {at(b)})" for a, b in spans) + ")"


def _raw_query(database: str, meter: Meter, resolution: Resolution, by_subject: bool,
               spans: Sequence[tuple[datetime, datetime]] = ()) -> str:
    kind = aggregation_for(meter.aggregation)
    where = ""
    if not kind.needs_value:
        quantity, values = kind.clickhouse_raw, "[]::Array(String)"
    else:
        # A value the stream would dead-letter is left out here too.
        value = (_property if kind.reads_text else _number)(meter.value_path or "")
        quantity, where = kind.clickhouse_raw.format(value=value), f" AND {value} IS NOT NULL"
        values = f"groupUniqArray({value})" if not kind.combinable else "[]::Array(String)"
        if not kind.combinable:
            quantity = "count()"  # unused: the window's count is the size of the union of values
    groups = ("[" + ", ".join(_property(p) for p in meter.group_by) + "]" if meter.group_by
              else "[]::Array(Nullable(String))")
    subject = "subject" if by_subject else "''"
    return (
        f"SELECT toStartOfInterval(time, {_INTERVAL[resolution]}) AS w, {groups} AS g, {subject} AS s, "
        f"toString({quantity}), count(), toDateTime64(max((time, id)).1, 6, 'UTC'), max((time, id)).2, {values} "
        f"FROM {database}.events FINAL "
        "WHERE tenant_id = {tenant:UUID} AND type = {type:String} "
        "AND time >= {start:DateTime64(3)} AND time < {end:DateTime64(3)}"
        f"{_within(spans) if spans else ''}{where} GROUP BY w, g, s ORDER BY w, g, s"
    )


def _rollup_query(database: str) -> str:
    return (
        f"SELECT window_start, group_key, '', toString(quantity), event_count, latest_at, latest_id, "
        f"[]::Array(String) FROM {database}.usage_rollup FINAL "
        "WHERE tenant_id = {tenant:UUID} AND meter_slug = {slug:String} AND resolution = {resolution:String} "
        "AND window_start >= {start:DateTime64(3)} AND window_start < {end:DateTime64(3)} "
        "ORDER BY window_start, group_key"
    )


def fine_usage_query(database: str, meter: Meter, resolution: Resolution, rollups: bool, by_subject: bool,
                     spans: Sequence[tuple[datetime, datetime]] = ()) -> str:
    """Rows (window, group, subject, quantity as stored, events, latest_at, latest_id,
    distinct values); parameters: tenant, type, slug, resolution, start, end. Raw events
    only within `spans` of the range, when given."""
    return _rollup_query(database) if rollups else _raw_query(database, meter, resolution, by_subject, spans)


def _points(meter: Meter, rows, by_subject: bool) -> list[FinePoint]:
    keeps_latest = aggregation_for(meter.aggregation).keeps_latest
    points = []
    for window, group, subject, quantity, events, latest_at, latest_id, values in rows:
        group = orjson.loads(group) if isinstance(group, str) else dict(zip(meter.group_by, group))
        latest = _utc(latest_at) if keeps_latest and latest_at and _utc(latest_at) > _EPOCH else None
        points.append(FinePoint(_utc(window), group, Decimal(quantity), int(events),
                                subject if by_subject else None, latest, latest_id if latest else None,
                                frozenset(values) if values else None))
    return points


@dataclass(frozen=True)
class RawEventRow:
    id: str
    type: str
    subject: str
    time: datetime
    received_at: datetime
    source: str
    data: dict


_EVENT_COLUMNS = "id, type, subject, time, received_at, source, data"


@dataclass(frozen=True)
class MeteredEventRow:
    """A raw event a meter counts, with the value it reads from it (None for COUNT)."""

    id: str
    time: datetime
    subject: str
    value: str | None
    data: dict


def meter_events_query(database: str, meter: Meter, after: bool) -> str:
    """The events `meter` counts in [start, end), in (time, id) order, after the cursor's
    (after_at, after_id) if `after`; the value a meter reads, as text; the same filter as the
    raw usage query (a value the stream would dead-letter is left out)."""
    kind = aggregation_for(meter.aggregation)
    value, where = "NULL", ""
    if kind.needs_value:
        value = (_property if kind.reads_text else _number)(meter.value_path or "")
        where = f" AND {value} IS NOT NULL"
    if after:
        where += " AND (time, id) > ({after_at:DateTime64(3)}, {after_id:String})"
    return (f"SELECT id, time, subject, toString({value}), data FROM {database}.events FINAL "
            "WHERE tenant_id = {tenant:UUID} AND type = {type:String} "
            "AND time >= {start:DateTime64(3)} AND time < {end:DateTime64(3)}"
            f"{where} ORDER BY time, id LIMIT {{limit:UInt32}}")


class FineUsageReader:
    def __init__(self, client, database: str) -> None:
        self._client = client
        self._database = database
        self._lock = asyncio.Lock()  # one query at a time per client, as usage_reader.py

    def _read(self, meter: Meter, start: datetime, end: datetime, resolution: Resolution, rollups: bool,
              by_subject: bool, spans: Sequence[tuple[datetime, datetime]] = ()) -> list[FinePoint]:
        parameters = {"tenant": str(meter.tenant_id), "type": meter.event_type, "slug": meter.slug,
                      "resolution": resolution, "start": start, "end": end}
        rows = self._client.query(fine_usage_query(self._database, meter, resolution, rollups, by_subject, spans),
                                  parameters=parameters).result_rows
        return _points(meter, rows, by_subject)

    def _fine_sync(self, meter: Meter, edges: list[datetime], resolution: Resolution,
                   by_subject: bool) -> tuple[list[FinePoint], str]:
        start, end = edges[0], edges[-1]
        if resolution == "minute" and reads_rollups(meter, start, "hour", by_subject):
            # A half-hour zone's windows: whole hours from the rollups, and from raw events
            # only the hours a window edge cuts (minutes are not stored). Some edge is inside
            # an hour (the resolution is minute), so `cut` is never empty; when it covers the
            # whole range (minute windows), raw events answer alone, below.
            cut = cut_hours(edges)
            if sum((b - a for a, b in cut), timedelta()) < end - start:
                cut_starts = {a.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0) for a, _ in cut}
                hours = [p for p in self._read(meter, start, end, "hour", True, by_subject)
                         if p.window_start not in cut_starts]
                minutes = self._read(meter, start, end, "minute", False, by_subject, cut)
                return hours + minutes, "rollup:hour+raw:minute"
        rollups = reads_rollups(meter, start, resolution, by_subject)
        return (self._read(meter, start, end, resolution, rollups, by_subject),
                f"rollup:{resolution}" if rollups else f"raw:{resolution}")

    async def fine_usage(self, meter: Meter, edges: list[datetime], resolution: Resolution,
                         by_subject: bool) -> tuple[list[FinePoint], str]:
        """The meter's windows in [edges[0], edges[-1]) at `resolution` (the coarsest every
        edge falls on; hours for the whole hours of a range cut at minutes), to be added
        into the windows between `edges`, and which data answered."""
        async with self._lock:
            return await asyncio.to_thread(self._fine_sync, meter, edges, resolution, by_subject)

    def _events_sync(self, tenant_id, before: tuple[datetime, str] | None, limit: int,
                     event_id: str | None) -> list[RawEventRow]:
        where = "tenant_id = {tenant:UUID}"
        parameters: dict = {"tenant": str(tenant_id), "limit": limit}
        if event_id is not None:
            where += " AND id = {id:String}"
            parameters["id"] = event_id
        if before is not None:
            where += " AND (received_at, id) < ({before_at:DateTime64(3)}, {before_id:String})"
            parameters.update(before_at=before[0], before_id=before[1])
        rows = self._client.query(
            f"SELECT {_EVENT_COLUMNS} FROM {self._database}.events FINAL WHERE {where} "
            "ORDER BY received_at DESC, id DESC LIMIT {limit:UInt32}", parameters=parameters).result_rows
        return [RawEventRow(i, t, s, _utc(at), _utc(received), source, orjson.loads(data) if data else {})
                for i, t, s, at, received, source, data in rows]

    def _meter_events_sync(self, meter: Meter, start: datetime, end: datetime, after: tuple[datetime, str] | None,
                           limit: int) -> list[MeteredEventRow]:
        parameters: dict = {"tenant": str(meter.tenant_id), "type": meter.event_type, "start": start, "end": end,
                            "limit": limit}
        if after is not None:
            parameters.update(after_at=after[0], after_id=after[1])
        rows = self._client.query(meter_events_query(self._database, meter, after is not None),
                                  parameters=parameters).result_rows
        return [MeteredEventRow(i, _utc(at), subject, value, orjson.loads(data) if data else {})
                for i, at, subject, value, data in rows]

    async def meter_events(self, meter: Meter, start: datetime, end: datetime, after: tuple[datetime, str] | None,
                           limit: int) -> list[MeteredEventRow]:
        """The events the meter counts with times in [start, end), oldest first, after the (time, id) cursor."""
        async with self._lock:
            return await asyncio.to_thread(self._meter_events_sync, meter, start, end, after, limit)

    async def recent_events(self, tenant_id, before: tuple[datetime, str] | None, limit: int) -> list[RawEventRow]:
        """The tenant's stored events, newest received first, after the (received_at, id) cursor."""
        async with self._lock:
            return await asyncio.to_thread(self._events_sync, tenant_id, before, limit, None)

    async def event(self, tenant_id, event_id: str) -> list[RawEventRow]:
        """Every stored copy of one of the tenant's events (one, unless a crash left two times)."""
        async with self._lock:
            return await asyncio.to_thread(self._events_sync, tenant_id, None, 10, event_id)


    def _received_sync(self, since: datetime, age_limit: timedelta) -> list[tuple[datetime, int]]:
        # received_at is not in the sort key: the bound on `time` (no accepted event is older
        # than ingest's age limit) lets ClickHouse skip every older monthly partition.
        rows = self._client.query(
            f"SELECT toStartOfMinute(received_at) AS m, count() FROM {self._database}.events "
            "WHERE received_at >= {since:DateTime64(3)} AND time >= {oldest:DateTime64(3)} GROUP BY m ORDER BY m",
            parameters={"since": since, "oldest": since - age_limit}).result_rows
        return [(_utc(minute), int(count)) for minute, count in rows]

    async def received_per_minute(self, since: datetime, age_limit: timedelta) -> list[tuple[datetime, int]]:
        """Events of every tenant stored so far, per minute of their acceptance by ingest, from `since`."""
        async with self._lock:
            return await asyncio.to_thread(self._received_sync, since, age_limit)


def build_fine_usage_reader(clickhouse: ClickHouseSettings) -> FineUsageReader:
    from .client import open_clickhouse

    return FineUsageReader(open_clickhouse(clickhouse), clickhouse.database)
