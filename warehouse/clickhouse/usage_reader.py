"""Reading usage from ClickHouse, through the one client factory (`client.py`).

Every process reads the same way: a ClickHouse server directly, embedded chDB through
the host that owns its directory. The SQL is `queries.py`'s either way.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from collections.abc import Sequence
from typing import Protocol

import orjson

from meterline.settings import Settings

from metering import Meter, Resolution, UsageEvent, aggregation_for

from .queries import (
    UsagePoint, UsageSeries, event_totals_query, latest_event_times_query, parse_usage_rows, raw_events_query,
    rollup_resolution, series, unique_total_query, usage_query,
)

__all__ = ["UsagePoint", "UsageSeries", "UsageReader", "ClickHouseUsageReader", "build_usage_reader", "series_to_json"]


class UsageReader(Protocol):
    async def usage(self, meter: Meter, start: datetime, end: datetime, window: Resolution = "hour") -> UsageSeries: ...

    async def event_totals(self, tenant_id: uuid.UUID) -> dict[str, int]: ...


class ClickHouseUsageReader:
    def __init__(self, client, database: str, lock: asyncio.Lock | None = None) -> None:
        self._client = client
        self._database = database
        # One query at a time per client: the host serializes chDB calls anyway, and
        # clickhouse-connect's HTTP client keeps one session per client.
        self._lock = lock or asyncio.Lock()

    def usage_sync(self, meter: Meter, start: datetime, end: datetime, window: Resolution = "hour",
                   raw: bool = False) -> UsageSeries:
        """`raw` forces the raw-event path (tests and the bench compare both)."""
        resolution = None if raw else rollup_resolution(meter, start, end, window)
        parameters = {"tenant": str(meter.tenant_id), "type": meter.event_type, "slug": meter.slug,
                      "resolution": resolution or "", "start": start, "end": end}
        rows = self._client.query(usage_query(self._database, meter, resolution, window),
                                  parameters=parameters).result_rows
        unique_total = None
        if not aggregation_for(meter.aggregation).combinable:  # distinct values: one query over the range
            (value,), = self._client.query(unique_total_query(self._database, meter, resolution),
                                           parameters=parameters).result_rows
            unique_total = Decimal(value)
        return series(meter, parse_usage_rows(meter, rows), unique_total,
                      f"rollup:{resolution}" if resolution else "raw")

    def event_totals_sync(self, tenant_id: uuid.UUID) -> dict[str, int]:
        rows = self._client.query(event_totals_query(self._database), parameters={"tenant": str(tenant_id)}).result_rows
        return {event_type: int(count) for event_type, count in rows}

    def latest_event_times_sync(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], datetime]:
        if not pairs:
            return {}
        wanted = set(pairs)
        rows = self._client.query(latest_event_times_query(self._database), parameters={
            "tenants": sorted({str(t) for t, _ in pairs}), "types": sorted({e for _, e in pairs})}).result_rows
        latest = {}
        for tenant_id, event_type, at in rows:
            key = (uuid.UUID(str(tenant_id)), event_type)
            if key in wanted:
                latest[key] = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        return latest

    async def latest_event_times(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], datetime]:
        """Per (tenant, event type), the latest raw event's time; absent when there is none."""
        async with self._lock:
            return await asyncio.to_thread(self.latest_event_times_sync, pairs)

    def raw_events_sync(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> list[UsageEvent]:
        if not pairs:
            return []
        wanted = set(pairs)
        rows = self._client.query(raw_events_query(self._database), parameters={
            "tenants": sorted({str(t) for t, _ in pairs}), "types": sorted({e for _, e in pairs})}).result_rows
        events = []
        for tenant_id, event_type, at, event_id, source, subject, data in rows:
            tenant_id = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
            if (tenant_id, event_type) in wanted:
                events.append(UsageEvent(tenant_id, event_id, event_type, subject,
                                         at if at.tzinfo else at.replace(tzinfo=timezone.utc),
                                         orjson.loads(data) if data else {}, source))
        return events

    async def raw_events(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> list[UsageEvent]:
        """The raw events of each (tenant, event type), every stored copy (see raw_events_query)."""
        async with self._lock:
            return await asyncio.to_thread(self.raw_events_sync, pairs)

    async def usage(self, meter: Meter, start: datetime, end: datetime, window: Resolution = "hour",
                    raw: bool = False) -> UsageSeries:
        async with self._lock:
            return await asyncio.to_thread(self.usage_sync, meter, start, end, window, raw)

    async def event_totals(self, tenant_id: uuid.UUID) -> dict[str, int]:
        async with self._lock:
            return await asyncio.to_thread(self.event_totals_sync, tenant_id)


def series_to_json(result: UsageSeries) -> dict:
    return {
        "points": [{"window_start": p.window_start.isoformat(), "quantity": str(p.quantity),
                    "event_count": p.event_count, "group": dict(p.group),
                    "latest_at": p.latest_at.isoformat() if p.latest_at else None, "latest_id": p.latest_id}
                   for p in result.points],
        "total_quantity": str(result.total_quantity), "total_events": result.total_events,
        "read_from": result.read_from,
    }


def build_usage_reader(settings: Settings) -> UsageReader:
    from .client import open_clickhouse

    return ClickHouseUsageReader(open_clickhouse(settings.clickhouse), settings.clickhouse.database)
