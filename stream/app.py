"""The faust-streaming worker: events topic -> dedup -> ClickHouse + PostgreSQL usage.

Only this module and `agents/` know faust. The worker also owns the embedded chDB
directory, so its web server answers the usage queries other processes need
(`/internal/usage`); with a ClickHouse server they query it directly.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

import faust
import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.clickhouse.client import open_clickhouse
from warehouse.clickhouse.usage_reader import ClickHouseUsageReader

from .aggregation import Meter
from .events import decode_pack
from .meters import MeterCache
from .sinks.clickhouse import ClickHouseEventSink
from .sinks.postgres import UsageSink

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
        datadir=str(settings.run_dir / "stream"),
    )
    events_topic = app.topic(settings.kafka.events_topic, value_serializer="raw", key_serializer="raw",
                             partitions=settings.kafka.events_partitions)
    dead_letter_topic = app.topic(settings.kafka.dead_letter_topic, value_serializer="raw")

    clickhouse_lock = asyncio.Lock()
    state: dict = {}

    opening = asyncio.Lock()

    async def sinks() -> dict:
        """Open the sinks on first use, inside the worker's event loop."""
        async with opening:
            if not state:
                await _open_sinks()
        return state

    async def _open_sinks() -> None:
        engine = pg_engine(settings)
        clickhouse = await asyncio.to_thread(open_clickhouse, settings)
        state["meters"] = MeterCache(engine, settings.stream.meter_refresh_s)
        state["sink"] = UsageSink(engine, ClickHouseEventSink(clickhouse, settings.clickhouse.database, clickhouse_lock))
        # One chDB query at a time, reads and writes alike.
        state["reader"] = ClickHouseUsageReader(clickhouse, settings.clickhouse.database, clickhouse_lock)

    @app.agent(events_topic)
    async def count_usage(stream):
        async for records in stream.take(settings.stream.batch_size, within=settings.stream.batch_window_s):
            events = [event for value in records for event in decode_pack(value).events]
            # faust acks a taken batch even if this body raises, so a sink failure must
            # not escape: retry until the sinks are back, holding the offsets meanwhile.
            async for attempt in AsyncRetrying(wait=wait_exponential(multiplier=0.2, max=10),
                                               retry=retry_if_exception_type(Exception), reraise=True):
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        log.warning("sink retry %d", attempt.retry_state.attempt_number)
                    opened = await sinks()
                    outcome = await opened["sink"].write(events, await opened["meters"].current())
            for dead in outcome.dead_letters:
                await dead_letter_topic.send(value=orjson.dumps({
                    "tenant_id": str(dead.event.tenant_id), "event_id": dead.event.id, "meter": dead.meter_slug,
                    "reason": dead.reason,
                }))

    @app.page("/healthz")
    async def healthz(web, request):
        return web.json({"status": "ok"})

    @app.page("/internal/usage")
    async def internal_usage(web, request):
        q = request.query
        meter = Meter(tenant_id=uuid.UUID(q["tenant_id"]), slug=q["slug"], event_type=q["event_type"],
                      aggregation=q["aggregation"], value_path=q.get("value_path") or None)
        points = await (await sinks())["reader"].usage(meter, datetime.fromisoformat(q["start"]), datetime.fromisoformat(q["end"]))
        return web.json({"points": [
            {"window_start": p.window_start.isoformat(), "quantity": str(p.quantity), "event_count": p.event_count}
            for p in points
        ]})

    @app.page("/internal/event-totals")
    async def internal_event_totals(web, request):
        totals = await (await sinks())["reader"].event_totals(uuid.UUID(request.query["tenant_id"]))
        return web.json({"totals": totals})

    return app


def run(settings: Settings) -> None:
    from faust.worker import Worker

    app = build_app(settings)
    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
