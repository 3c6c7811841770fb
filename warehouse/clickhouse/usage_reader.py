"""Reading usage from ClickHouse, from whichever process may.

With a ClickHouse server every process queries it directly. With embedded chDB only
the stream worker holds the directory, so other processes ask the worker over HTTP;
both paths run the same SQL from `queries.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Protocol

import httpx

from meterline.settings import Settings
from stream.aggregation import Meter, Resolution

from .queries import (
    UsagePoint, UsageSeries, event_totals_query, latest_event_time_query, parse_usage_rows, rollup_resolution, series,
    unique_total_query, usage_query,
)

__all__ = ["UsagePoint", "UsageSeries", "UsageReader", "ClickHouseUsageReader", "StreamWorkerUsageReader",
           "build_usage_reader", "series_from_json", "series_to_json"]


class UsageReader(Protocol):
    async def usage(self, meter: Meter, start: datetime, end: datetime, window: Resolution = "hour") -> UsageSeries: ...

    async def event_totals(self, tenant_id: uuid.UUID) -> dict[str, int]: ...


class ClickHouseUsageReader:
    def __init__(self, client, database: str, lock: asyncio.Lock | None = None) -> None:
        self._client = client
        self._database = database
        # chDB is not safe for concurrent queries from threads of one process.
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
        if meter.aggregation == "UNIQUE_COUNT":
            (value,), = self._client.query(unique_total_query(self._database, meter, resolution),
                                           parameters=parameters).result_rows
            unique_total = Decimal(value)
        return series(meter, parse_usage_rows(meter, rows), unique_total,
                      f"rollup:{resolution}" if resolution else "raw")

    def event_totals_sync(self, tenant_id: uuid.UUID) -> dict[str, int]:
        rows = self._client.query(event_totals_query(self._database), parameters={"tenant": str(tenant_id)}).result_rows
        return {event_type: int(count) for event_type, count in rows}

    def latest_event_time_sync(self, tenant_id: uuid.UUID, event_type: str) -> datetime | None:
        (latest, count), = self._client.query(latest_event_time_query(self._database), parameters={
            "tenant": str(tenant_id), "type": event_type}).result_rows
        if not count:
            return None
        return latest if latest.tzinfo else latest.replace(tzinfo=timezone.utc)

    async def latest_event_time(self, tenant_id: uuid.UUID, event_type: str) -> datetime | None:
        async with self._lock:
            return await asyncio.to_thread(self.latest_event_time_sync, tenant_id, event_type)

    async def usage(self, meter: Meter, start: datetime, end: datetime, window: Resolution = "hour",
                    raw: bool = False) -> UsageSeries:
        async with self._lock:
            return await asyncio.to_thread(self.usage_sync, meter, start, end, window, raw)

    async def event_totals(self, tenant_id: uuid.UUID) -> dict[str, int]:
        async with self._lock:
            return await asyncio.to_thread(self.event_totals_sync, tenant_id)


def series_from_json(body: dict) -> UsageSeries:
    points = [UsagePoint(datetime.fromisoformat(p["window_start"]), Decimal(p["quantity"]), int(p["event_count"]),
                         p.get("group") or {},
                         datetime.fromisoformat(p["latest_at"]) if p.get("latest_at") else None, p.get("latest_id"))
              for p in body["points"]]
    return UsageSeries(points, Decimal(body["total_quantity"]), int(body["total_events"]), body["read_from"])


def series_to_json(result: UsageSeries) -> dict:
    return {
        "points": [{"window_start": p.window_start.isoformat(), "quantity": str(p.quantity),
                    "event_count": p.event_count, "group": dict(p.group),
                    "latest_at": p.latest_at.isoformat() if p.latest_at else None, "latest_id": p.latest_id}
                   for p in result.points],
        "total_quantity": str(result.total_quantity), "total_events": result.total_events,
        "read_from": result.read_from,
    }


class StreamWorkerUsageReader:
    """Asks the stream worker, which owns the embedded chDB directory. The worker looks the
    meter up itself (tenant and slug), so it reads with the definition it applies."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def usage(self, meter: Meter, start: datetime, end: datetime, window: Resolution = "hour") -> UsageSeries:
        response = await self._http.get("/internal/usage", params={
            "tenant_id": str(meter.tenant_id), "slug": meter.slug, "window": window,
            "start": start.isoformat(), "end": end.isoformat(),
        })
        response.raise_for_status()
        return series_from_json(response.json())

    async def event_totals(self, tenant_id: uuid.UUID) -> dict[str, int]:
        response = await self._http.get("/internal/event-totals", params={"tenant_id": str(tenant_id)})
        response.raise_for_status()
        return {k: int(v) for k, v in response.json()["totals"].items()}

    async def aclose(self) -> None:
        await self._http.aclose()


def build_usage_reader(settings: Settings) -> UsageReader:
    if settings.clickhouse_is_embedded:
        return StreamWorkerUsageReader(settings.stream_web_url)
    from .client import open_clickhouse

    return ClickHouseUsageReader(open_clickhouse(settings), settings.clickhouse.database)
