"""What the agent, the timers and the web pages of one worker share.

The sinks are opened on first use, inside the worker's event loop (an async engine
belongs to the loop that uses it), from the clients the composition root describes; the
freshness watermark is computed from Kafka's end offsets and PostgreSQL's positions.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import aiorwlock
from faust.types import TP

from meterline.settings import KafkaSettings, StreamSettings
from warehouse.clickhouse.usage_reader import ClickHouseUsageReader
from warehouse.postgres.usage import list_positions

from .backfill import backfill_meters
from metering.freshness import Freshness, freshness
from .meters import MeterCache
from .metrics import StreamMetrics
from .rebalance import Ownership
from .sinks.clickhouse import ClickHouseEventSink
from .sinks.postgres import UsageSink

if TYPE_CHECKING:  # annotations only: the engine is the composition root's
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["OpenedSinks", "StreamClients", "WorkerResources"]


@dataclass(frozen=True)
class StreamClients:
    """How the worker opens its clients; the composition root (meterline/bootstrap.py) builds it."""

    open_postgres: Callable[[], AsyncEngine]
    open_clickhouse: Callable[[], Any]  # blocking: called in a thread
    clickhouse_database: str


@dataclass(frozen=True)
class OpenedSinks:
    engine: AsyncEngine
    meters: MeterCache
    sink: UsageSink
    reader: ClickHouseUsageReader


class WorkerResources:
    def __init__(self, app, stream: StreamSettings, kafka: KafkaSettings, clients: StreamClients,
                 metrics: StreamMetrics):
        self.app = app
        self.stream = stream
        self.kafka = kafka
        self.metrics = metrics
        self._clients = clients
        # Which taken records are still this worker's to write (stream/rebalance.py).
        self.ownership = Ownership()
        self._clickhouse_lock = asyncio.Lock()
        # Read-held by each batch while it is written (its lanes' at once), write-held by a
        # meter reload or backfill (agent.py, timers.py): a reload must not record
        # rollup_from between a batch's meter lookup and its raw insert.
        self.writing = aiorwlock.RWLock()
        self._opening = asyncio.Lock()
        self._opened: OpenedSinks | None = None
        self._freshness: Freshness | None = None

    async def sinks(self) -> OpenedSinks:
        """Open the sinks on first use, inside the worker's event loop."""
        async with self._opening:
            if self._opened is None:
                self._opened = await self._open_sinks()
        return self._opened

    async def _open_sinks(self) -> OpenedSinks:
        # Built whole before it is kept: a failed open keeps nothing, so the next attempt opens again.
        engine = self._clients.open_postgres()
        clickhouse = await asyncio.to_thread(self._clients.open_clickhouse)
        database = self._clients.clickhouse_database
        # One ClickHouse call at a time from this worker, reads and writes alike.
        reader = ClickHouseUsageReader(clickhouse, database, self._clickhouse_lock)
        horizon = timedelta(days=self.stream.dedup_horizon_days)
        return OpenedSinks(
            engine=engine,
            meters=MeterCache(engine, self.stream.meter_refresh_s, reader.latest_event_times,
                              functools.partial(backfill_meters, engine, reader.raw_events, dedup_horizon=horizon)),
            sink=UsageSink(engine, ClickHouseEventSink(clickhouse, database, self._clickhouse_lock),
                           self.stream.consumer_group, horizon),
            reader=reader,
        )

    async def applied_positions(self) -> dict[int, int]:
        """The events topic's partitions -> next offset to apply, as PostgreSQL committed
        them: where an assigned partition resumes (stream/rebalance.py)."""
        async with (await self.sinks()).engine.connect() as conn:
            rows = await list_positions(conn, self.stream.consumer_group)
        return {r.partition: r.next_offset for r in rows if r.topic == self.kafka.events_topic}

    async def current_freshness(self) -> Freshness:
        if self._freshness is None:
            self._freshness = await self._compute_freshness()
        return self._freshness

    async def refresh_freshness(self) -> None:
        self._freshness = await self._compute_freshness()

    async def _compute_freshness(self) -> Freshness:
        topic = self.kafka.events_topic
        count = self.app.consumer.topic_partitions(topic) or self.kafka.events_partitions
        ends = await self.app.consumer.highwaters(*[TP(topic, p) for p in range(count)])
        async with (await self.sinks()).engine.connect() as conn:
            rows = await list_positions(conn, self.stream.consumer_group)
        positions = {r.partition: (r.next_offset, r.record_at) for r in rows if r.topic == topic}
        result = freshness({tp.partition: int(end) for tp, end in ends.items()}, positions, datetime.now(timezone.utc))
        for s in result.partitions:
            labels = (self.stream.consumer_group, topic, str(s.partition))
            self.metrics.lag.labels(*labels).set(s.lag)
            if s.lag_seconds is not None:
                self.metrics.lag_seconds.labels(*labels).set(s.lag_seconds)
        if result.watermark is not None:
            self.metrics.watermark.set(result.watermark.timestamp())
        return result
