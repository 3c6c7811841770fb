"""The faust-streaming worker: events topic -> dedup -> ClickHouse + PostgreSQL usage.

Only the stream package knows faust: this module builds the App and its topics, `agent.py`
processes batches, `timers.py` prunes and refreshes, `web.py` serves the pages. ClickHouse
is reached through warehouse/clickhouse/client.py (a server, or the embedded host that owns
chDB), so any number of workers can share the partitions.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from datetime import datetime, timedelta, timezone

import faust
from faust.types import TP

from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.clickhouse.client import open_clickhouse
from warehouse.clickhouse.usage_reader import ClickHouseUsageReader
from warehouse.postgres.usage import list_positions

from .agent import register_agent
from .backfill import backfill_meters
from .freshness import Freshness, freshness
from .meters import MeterCache
from .metrics import StreamMetrics
from .sinks.clickhouse import ClickHouseEventSink
from .sinks.postgres import UsageSink
from .timers import register_timers
from .web import register_pages

__all__ = ["build_app", "run"]

log = logging.getLogger("meterline.stream")


def build_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.stream.consumer_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=True,
        web_bind="127.0.0.1",
        web_port=settings.stream.web_port,
        topic_partitions=settings.kafka.events_partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.stream.session_timeout_s,
        broker_heartbeat_interval=settings.stream.heartbeat_interval_s,
        broker_rebalance_timeout=max(20.0, 2 * settings.stream.session_timeout_s),
        datadir=str(settings.run_dir / "stream"),
    )
    events_topic = app.topic(settings.kafka.events_topic, value_serializer="raw", key_serializer="raw",
                             partitions=settings.kafka.events_partitions)
    dead_letter_topic = app.topic(settings.kafka.dead_letter_topic, value_serializer="raw")

    clickhouse_lock = asyncio.Lock()
    # Held while a batch is written: a meter refresh off the batch path (the timer below)
    # must not record rollup_from between a batch's meter lookup and its raw insert.
    writing = asyncio.Lock()
    state: dict = {}
    metrics = StreamMetrics()
    opening = asyncio.Lock()
    schemas: dict[uuid.UUID, str] = {}  # tenant -> schema name, for usage reads

    async def sinks() -> dict:
        """Open the sinks on first use, inside the worker's event loop."""
        async with opening:
            if not state:
                await _open_sinks()
        return state

    async def _open_sinks() -> None:
        engine = pg_engine(settings)
        clickhouse = await asyncio.to_thread(open_clickhouse, settings)
        # One ClickHouse call at a time from this worker, reads and writes alike.
        reader = ClickHouseUsageReader(clickhouse, settings.clickhouse.database, clickhouse_lock)
        # All at once: a failed open leaves `state` empty, so the next attempt opens again.
        state.update(
            engine=engine,
            meters=MeterCache(engine, settings.stream.meter_refresh_s, reader.latest_event_times,
                              functools.partial(backfill_meters, engine, reader.raw_events,
                                                dedup_horizon=timedelta(days=settings.stream.dedup_horizon_days))),
            sink=UsageSink(engine, ClickHouseEventSink(clickhouse, settings.clickhouse.database, clickhouse_lock),
                           settings.stream.consumer_group, timedelta(days=settings.stream.dedup_horizon_days)),
            reader=reader,
        )

    async def current_freshness() -> Freshness:
        if "freshness" not in state:
            state["freshness"] = await compute_freshness()
        return state["freshness"]

    async def compute_freshness() -> Freshness:
        topic = settings.kafka.events_topic
        count = app.consumer.topic_partitions(topic) or settings.kafka.events_partitions
        ends = await app.consumer.highwaters(*[TP(topic, p) for p in range(count)])
        async with (await sinks())["engine"].connect() as conn:
            rows = await list_positions(conn, settings.stream.consumer_group)
        positions = {r.partition: (r.next_offset, r.record_at) for r in rows if r.topic == topic}
        result = freshness({tp.partition: int(end) for tp, end in ends.items()}, positions, datetime.now(timezone.utc))
        for s in result.partitions:
            metrics.lag.labels(settings.stream.consumer_group, topic, str(s.partition)).set(s.lag)
        if result.watermark is not None:
            metrics.watermark.set(result.watermark.timestamp())
        return result

    register_agent(app, settings, events_topic, dead_letter_topic, sinks, writing, metrics)
    register_timers(app, settings, sinks, writing, state, metrics, compute_freshness)
    register_pages(app, settings, sinks, metrics, current_freshness, schemas)

    return app


def run(settings: Settings) -> None:
    from faust.worker import Worker

    app = build_app(settings)
    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
