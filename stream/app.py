"""The faust-streaming worker: events topic -> dedup -> ClickHouse + PostgreSQL usage.

Only this module and `agents/` know faust. ClickHouse is reached through
warehouse/clickhouse/client.py (a server, or the embedded host that owns chDB), so any
number of workers can share the partitions. The web server answers health, metrics,
stream status and, for tests and the bench, `/internal/usage` with this worker's watermark.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone

import faust
import orjson
from faust.types import TP
from sqlalchemy import select
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.clickhouse.client import open_clickhouse
from warehouse.clickhouse.queries import rollup_resolution
from warehouse.clickhouse.usage_reader import ClickHouseUsageReader, series_to_json
from warehouse.postgres.meters import get_meter
from warehouse.postgres.tables import tenant
from warehouse.postgres.usage import list_positions, prune_processed_events

from metering import RESOLUTIONS
from .backfill import backfill_meters
from .freshness import Freshness, freshness
from .meters import MeterCache
from .metrics import StreamMetrics
from .usage_read import committed_windows
from .sinks.clickhouse import ClickHouseEventSink
from .sinks.postgres import SourceRecord, UsageSink

__all__ = ["build_app", "run"]

log = logging.getLogger("meterline.stream")


@contextlib.contextmanager
def _no_cyclic_gc():
    """No cyclic garbage collection while a batch is written. A catch-up batch holds
    hundreds of thousands of live objects (events, windows, rows), all freed by reference
    counting, and each full collection walks them all: it cost a third of decoding and
    aggregating. Collections resume between batches, so cycles are still reclaimed."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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

    @app.agent(events_topic)
    async def count_usage(stream):
        async for batch in stream.take_events(settings.stream.batch_size, within=settings.stream.batch_window_s):
            records = [SourceRecord(e.message.topic, e.message.partition, e.message.offset,
                                    datetime.fromtimestamp(e.message.timestamp, timezone.utc), e.value)
                       for e in batch]
            # faust acks a taken batch even if this body raises, so a sink failure must
            # not escape: retry the same batch until the sinks are back, holding the
            # offsets meanwhile (PostgreSQL's positions are the truth; Kafka's follow).
            async for attempt in AsyncRetrying(wait=wait_exponential(multiplier=0.2, max=settings.stream.retry_max_wait_s),
                                               retry=retry_if_exception_type(Exception), reraise=True):
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        log.warning("sink retry %d", attempt.retry_state.attempt_number)
                    started = time.perf_counter()
                    try:
                        opened = await sinks()
                        async with writing:
                            with _no_cyclic_gc():
                                outcome = await opened["sink"].write(records, opened["meters"],
                                                                     datetime.now(timezone.utc))
                    except Exception:
                        metrics.sink_failures.inc()
                        log.exception("sink write failed; retrying the batch")
                        raise
                    metrics.sink_latency.observe(time.perf_counter() - started)
            metrics.records.inc(outcome.records - outcome.replayed_records)
            metrics.records_replayed.inc(outcome.replayed_records)
            metrics.events.inc(outcome.new)
            metrics.duplicates.inc(outcome.duplicates)
            metrics.dead_letters.inc(len(outcome.dead_letters))
            metrics.corrections.inc(outcome.corrections)
            # After the commit: the tenant table has them already; the topic is a feed.
            for dead in outcome.dead_letters:
                await dead_letter_topic.send(value=orjson.dumps(dead))

    @app.timer(interval=settings.stream.prune_interval_s)
    async def prune_dedup_record():
        """Forget dedup records beyond the horizon, a chunk per transaction."""
        try:
            await _prune()
        except Exception:  # noqa: BLE001 - an exception would stop the timer; the next run resumes
            log.warning("pruning the dedup record failed", exc_info=True)

    async def _prune() -> None:
        opened = await sinks()
        before = datetime.now(timezone.utc) - timedelta(days=settings.stream.dedup_horizon_days)
        async with opened["engine"].connect() as conn:
            schemas = [row[0] for row in await conn.execute(select(tenant.c.schema_name))]
        for schema_name in schemas:
            while True:
                async with opened["engine"].begin() as conn:
                    removed = await prune_processed_events(conn, schema_name, before, settings.stream.prune_chunk_rows)
                metrics.pruned.inc(removed)
                if removed < settings.stream.prune_chunk_rows:
                    break

    @app.timer(interval=settings.stream.meter_refresh_s)
    async def refresh_meters():
        """New meters are backfilled even when no event of their tenant arrives."""
        try:
            opened = await sinks()
            async with writing:
                await opened["meters"].backfill_pending()
        except Exception:  # noqa: BLE001 - an exception would stop the timer; the next batch refreshes too
            log.warning("refreshing meters failed", exc_info=True)

    @app.timer(interval=1.0)
    async def refresh_freshness():
        # Off the request path: asking the consumer thread for end offsets can wait for
        # its fetch loop (~1 s), and the watermark may lag a second: it stays a lower bound.
        try:
            state["freshness"] = await compute_freshness()
        except Exception:  # noqa: BLE001 - sinks down: keep the last known watermark
            log.warning("freshness not refreshed", exc_info=True)

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

    @app.page("/metrics")
    async def prometheus_metrics(web, request):
        return web.bytes(metrics.render(), content_type="text/plain; version=0.0.4")

    @app.page("/internal/stream-status")
    async def stream_status(web, request):
        result = await current_freshness()
        return web.json({
            "consumer_group": settings.stream.consumer_group, "topic": settings.kafka.events_topic,
            "watermark": result.watermark.isoformat() if result.watermark else None,
            "partitions": [{"partition": s.partition, "end_offset": s.end_offset, "next_offset": s.next_offset,
                            "lag": s.lag, "included_until": s.included_until.isoformat() if s.included_until else None}
                           for s in result.partitions],
        })

    @app.page("/healthz")
    async def healthz(web, request):
        return web.json({"status": "ok"})

    @app.page("/internal/usage")
    async def internal_usage(web, request):
        """Usage of one meter, looked up here (tenant_id, slug) so the rollups' coverage
        (rollup_from) is the one this worker recorded. Windows the rollups cover at the
        requested resolution come from PostgreSQL's committed windows (what the ClickHouse
        rollups copy, in the same transaction as the positions behind the watermark): one
        connection, no hop through the chDB host, whose single engine thread queues reads
        behind the stream's inserts. `source=clickhouse` asks the ClickHouse rollups
        instead; `raw=1` the raw events."""
        q = request.query
        source = q.get("source", "postgres")
        window = q.get("window", "hour")
        if window not in RESOLUTIONS:
            return web.json({"error": f"window must be one of {', '.join(RESOLUTIONS)}"}, status=422)
        if source not in ("postgres", "clickhouse"):
            return web.json({"error": "source must be postgres or clickhouse"}, status=422)
        start, end, raw = datetime.fromisoformat(q["start"]), datetime.fromisoformat(q["end"]), q.get("raw") == "1"
        opened = await sinks()
        async with opened["engine"].connect() as conn:
            meter = await get_meter(conn, uuid.UUID(q["tenant_id"]), q["slug"])
            if meter is None:
                return web.json({"error": "unknown meter"}, status=404)
            result = None
            if (source == "postgres" and not raw and meter.aggregation != "UNIQUE_COUNT"
                    and rollup_resolution(meter, start, end, window) == window):
                result = await committed_windows(conn, meter, start, end, window, schemas)
        if result is None:
            result = await opened["reader"].usage(meter, start, end, window, raw=raw)
        watermark = (await current_freshness()).watermark
        return web.bytes(orjson.dumps({**series_to_json(result), "watermark": watermark.isoformat() if watermark else None}),
                         content_type="application/json")

    @app.page("/internal/event-totals")
    async def internal_event_totals(web, request):
        totals = await (await sinks())["reader"].event_totals(uuid.UUID(request.query["tenant_id"]))
        return web.json({"totals": totals})

    return app


def run(settings: Settings) -> None:
    from faust.worker import Worker

    app = build_app(settings)
    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
