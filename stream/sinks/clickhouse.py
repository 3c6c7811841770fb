"""Raw events, rollup windows and distinct values into ClickHouse (a server, or chDB through its host).

Everything here is written inside the stream's PostgreSQL transaction, before its
commit (stream/sinks/postgres.py); warehouse/clickhouse/ddl.py says why each table
stays exact when a crashed batch is written again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone

import orjson

from stream.aggregation import UsageEvent
from warehouse.clickhouse.queries import RAW_EVENT_COLUMNS, ROLLUP_COLUMNS, UNIQUE_VALUE_COLUMNS

__all__ = ["ClickHouseEventSink", "ClickHouseWrite"]

_NO_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ClickHouseWrite:
    """One batch's rows for ClickHouse, gathered per tenant while PostgreSQL is written."""

    __slots__ = ("events", "rollups", "unique_values")

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []
        self.rollups: list[list] = []
        self.unique_values: list[list] = []

    def add_windows(self, tenant_id: uuid.UUID, rows) -> None:
        """rows: warehouse.postgres.usage.WindowRow, as committed (absolute, with revision)."""
        self.rollups.extend([tenant_id, r.resolution, r.meter_slug, r.window_start, r.group_key, r.aggregation,
                             r.quantity, r.event_count, r.latest_at or _NO_TIME, r.latest_id or "", r.revision]
                            for r in rows)

    def add_unique_values(self, tenant_id: uuid.UUID, meter_slug: str, group: str, minute: datetime,
                          values) -> None:
        self.unique_values.extend([tenant_id, meter_slug, group, minute, v] for v in values)


# Column order of ClickHouseWrite.rollups rows.
_ROLLUP_ORDER = ["tenant_id", "resolution", "meter_slug", "window_start", "group_key", "aggregation", "quantity",
                 "event_count", "latest_at", "latest_id", "revision"]
assert sorted(_ROLLUP_ORDER) == sorted(ROLLUP_COLUMNS)


class ClickHouseEventSink:
    def __init__(self, client, database: str, lock: asyncio.Lock) -> None:
        self._client = client
        self._database = database
        self._lock = lock  # shared with this worker's readers: one ClickHouse call at a time

    def _insert(self, batch: ClickHouseWrite, received_at: datetime) -> None:
        if batch.events:
            rows = [[e.tenant_id, e.type, e.time, e.id, e.source, e.subject, orjson.dumps(e.data).decode(), received_at]
                    for e in batch.events]
            self._client.insert(f"{self._database}.events", rows, column_names=RAW_EVENT_COLUMNS)
        if batch.rollups:
            self._client.insert(f"{self._database}.usage_rollup", batch.rollups, column_names=_ROLLUP_ORDER)
        if batch.unique_values:
            self._client.insert(f"{self._database}.usage_unique_value", batch.unique_values,
                                column_names=UNIQUE_VALUE_COLUMNS)

    async def write(self, batch: ClickHouseWrite | Sequence[UsageEvent]) -> None:
        if not isinstance(batch, ClickHouseWrite):
            events, batch = batch, ClickHouseWrite()
            batch.events.extend(events)
        if not (batch.events or batch.rollups or batch.unique_values):
            return
        async with self._lock:
            await asyncio.to_thread(self._insert, batch, datetime.now(timezone.utc))
