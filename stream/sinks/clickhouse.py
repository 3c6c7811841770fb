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
from decimal import Decimal

import orjson

from metering import UsageEvent
from warehouse.clickhouse.queries import RAW_EVENT_COLUMNS, ROLLUP_COLUMNS, UNIQUE_VALUE_COLUMNS
from warehouse.postgres.usage import ROLLUP_LINE_COLUMNS

from .failures import clickhouse_failure

__all__ = ["ClickHouseEventSink", "ClickHouseWrite"]


class ClickHouseWrite:
    """One batch's rows for ClickHouse, gathered per tenant while PostgreSQL is written."""

    __slots__ = ("events", "rollup_lines", "unique_values")

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []
        # The windows as PostgreSQL committed them (absolute, with revision), already
        # encoded by it: warehouse.postgres.usage.CommittedRollups.lines.
        self.rollup_lines = ""
        self.unique_values: list[list] = []

    def add_unique_values(self, tenant_id: uuid.UUID, meter_slug: str, group: str, hour: datetime,
                          values) -> None:
        self.unique_values.extend([tenant_id, meter_slug, group, hour, v] for v in values)


assert sorted(ROLLUP_LINE_COLUMNS) == sorted(ROLLUP_COLUMNS)


# Events and distinct values go as JSONCompactColumns (rollups come encoded by PostgreSQL
# as JSONCompactEachRow lines): one orjson call per insert over the columns (UUIDs and
# datetimes natively, Decimals as exact text), parsed by ClickHouse. One call per row
# (JSONCompactEachRow) cost the worker ~1 µs per event in Python; through the embedded host,
# the tagged-JSON rows of `insert` cost more in Python decoding and Native encoding (host
# and worker alike) than the engine's parser. Datetimes are ISO 8601 with their offset,
# hence best_effort.
_INPUT_SETTINGS = {"date_time_input_format": "best_effort", "input_format_json_read_objects_as_strings": 1}


def _exact(value):
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation, which Decimal columns refuse
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _event_columns(events: Sequence[UsageEvent], received_at: datetime) -> list[list]:
    # `data` goes as the JSON object itself and ClickHouse keeps its text
    # (input_format_json_read_objects_as_strings): the same text as orjson.dumps(data),
    # without a second serialization per event.
    return [[e.tenant_id for e in events], [e.type for e in events], [e.time for e in events],
            [e.id for e in events], [e.source for e in events], [e.subject for e in events],
            [e.data if type(e.data) is dict else orjson.dumps(e.data).decode() for e in events],
            [received_at] * len(events)]


class ClickHouseEventSink:
    def __init__(self, client, database: str, lock: asyncio.Lock) -> None:
        self._client = client
        self._database = database
        self._lock = lock  # shared with this worker's readers: one ClickHouse call at a time

    def _raw_insert(self, table: str, columns: list[str], values: list) -> None:
        """values: one list (or tuple) per column, in `columns`' order."""
        self._client.raw_insert(f"{self._database}.{table}", columns, orjson.dumps(values, default=_exact),
                                settings=_INPUT_SETTINGS, fmt="JSONCompactColumns")

    def _insert(self, batch: ClickHouseWrite, received_at: datetime) -> None:
        if batch.events:
            self._raw_insert("events", RAW_EVENT_COLUMNS, _event_columns(batch.events, received_at))
        if batch.rollup_lines:
            self._client.raw_insert(f"{self._database}.usage_rollup", ROLLUP_LINE_COLUMNS, batch.rollup_lines.encode(),
                                    settings=_INPUT_SETTINGS, fmt="JSONCompactEachRow")
        if batch.unique_values:
            self._raw_insert("usage_unique_value", UNIQUE_VALUE_COLUMNS, list(zip(*batch.unique_values)))

    async def write(self, batch: ClickHouseWrite | Sequence[UsageEvent]) -> None:
        if not isinstance(batch, ClickHouseWrite):
            events, batch = batch, ClickHouseWrite()
            batch.events.extend(events)
        if not (batch.events or batch.rollup_lines or batch.unique_values):
            return
        async with self._lock:
            try:
                await asyncio.to_thread(self._insert, batch, datetime.now(timezone.utc))
            except Exception as exc:
                # SinkUnavailable or UnwritableData (stream/sinks/failures.py); others as they are.
                translated = clickhouse_failure(exc)
                if translated is None:
                    raise
                raise translated from exc
