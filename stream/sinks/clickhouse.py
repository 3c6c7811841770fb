"""Raw events into ClickHouse (chDB or a server) from the stream worker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timezone

import orjson

from stream.aggregation import UsageEvent
from warehouse.clickhouse.queries import RAW_EVENT_COLUMNS

__all__ = ["ClickHouseEventSink"]


class ClickHouseEventSink:
    def __init__(self, client, database: str, lock: asyncio.Lock) -> None:
        self._client = client
        self._table = f"{database}.events"
        self._lock = lock  # shared with readers: chDB takes one query at a time

    def _insert(self, events: Sequence[UsageEvent], received_at: datetime) -> None:
        rows = [[e.tenant_id, e.type, e.time, e.id, e.source, e.subject, orjson.dumps(e.data).decode(), received_at]
                for e in events]
        self._client.insert(self._table, rows, column_names=RAW_EVENT_COLUMNS)

    async def write(self, events: Sequence[UsageEvent]) -> None:
        if not events:
            return
        async with self._lock:
            await asyncio.to_thread(self._insert, events, datetime.now(timezone.utc))
