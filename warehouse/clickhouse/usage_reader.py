"""Reading usage from ClickHouse, from whichever process may.

With a ClickHouse server every process queries it directly. With embedded chDB only
the stream worker holds the directory, so other processes ask the worker over HTTP;
both paths run the same SQL from `queries.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import httpx

from meterline.settings import Settings
from stream.aggregation import Meter

from .queries import UsagePoint, event_totals_query, parse_usage_rows, usage_query

__all__ = ["UsagePoint", "UsageReader", "ClickHouseUsageReader", "StreamWorkerUsageReader", "build_usage_reader"]


class UsageReader(Protocol):
    async def usage(self, meter: Meter, start: datetime, end: datetime) -> list[UsagePoint]: ...

    async def event_totals(self, tenant_id: uuid.UUID) -> dict[str, int]: ...


class ClickHouseUsageReader:
    def __init__(self, client, database: str, lock: asyncio.Lock | None = None) -> None:
        self._client = client
        self._database = database
        # chDB is not safe for concurrent queries from threads of one process.
        self._lock = lock or asyncio.Lock()

    def usage_sync(self, meter: Meter, start: datetime, end: datetime) -> list[UsagePoint]:
        rows = self._client.query(
            usage_query(self._database, meter),
            parameters={"tenant": str(meter.tenant_id), "type": meter.event_type, "start": start, "end": end},
        ).result_rows
        return parse_usage_rows(rows)

    def event_totals_sync(self, tenant_id: uuid.UUID) -> dict[str, int]:
        rows = self._client.query(event_totals_query(self._database), parameters={"tenant": str(tenant_id)}).result_rows
        return {event_type: int(count) for event_type, count in rows}

    async def usage(self, meter: Meter, start: datetime, end: datetime) -> list[UsagePoint]:
        async with self._lock:
            return await asyncio.to_thread(self.usage_sync, meter, start, end)

    async def event_totals(self, tenant_id: uuid.UUID) -> dict[str, int]:
        async with self._lock:
            return await asyncio.to_thread(self.event_totals_sync, tenant_id)


class StreamWorkerUsageReader:
    """Asks the stream worker, which owns the embedded chDB directory."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def usage(self, meter: Meter, start: datetime, end: datetime) -> list[UsagePoint]:
        response = await self._http.get("/internal/usage", params={
            "tenant_id": str(meter.tenant_id), "slug": meter.slug, "event_type": meter.event_type,
            "aggregation": meter.aggregation, "value_path": meter.value_path or "",
            "start": start.isoformat(), "end": end.isoformat(),
        })
        response.raise_for_status()
        return [UsagePoint(datetime.fromisoformat(p["window_start"]), Decimal(p["quantity"]), int(p["event_count"]))
                for p in response.json()["points"]]

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
