"""The worker's web pages: health, metrics, stream status and, for tests and the bench,
`/internal/usage` with this worker's watermark."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson

from warehouse.clickhouse.queries import rollup_resolution
from warehouse.clickhouse.usage_reader import series_to_json
from warehouse.postgres.meters import get_meter

from metering import RESOLUTIONS, aggregation_for
from .resources import WorkerResources
from .usage_read import committed_windows

__all__ = ["register_pages"]


def register_pages(app, resources: WorkerResources) -> None:
    metrics, sinks, current_freshness = resources.metrics, resources.sinks, resources.current_freshness

    @app.page("/metrics")
    async def prometheus_metrics(web, request):
        return web.bytes(metrics.render(), content_type="text/plain; version=0.0.4")

    @app.page("/internal/stream-status")
    async def stream_status(web, request):
        result = await current_freshness()
        return web.json({
            "consumer_group": resources.stream.consumer_group, "topic": resources.kafka.events_topic,
            "watermark": result.watermark.isoformat() if result.watermark else None,
            "partitions": [{"partition": s.partition, "end_offset": s.end_offset, "next_offset": s.next_offset,
                            "lag": s.lag, "lag_seconds": s.lag_seconds, "included_until": s.included_until.isoformat() if s.included_until else None}
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
        async with opened.engine.connect() as conn:
            meter = await get_meter(conn, uuid.UUID(q["tenant_id"]), q["slug"])
            if meter is None:
                return web.json({"error": "unknown meter"}, status=404)
            result = None
            if (source == "postgres" and not raw and aggregation_for(meter.aggregation).combinable
                    and rollup_resolution(meter, start, end, window) == window):
                result = await committed_windows(conn, meter, start, end, window)
        if result is None:
            result = await opened.reader.usage(meter, start, end, window, raw=raw)
        watermark = (await current_freshness()).watermark
        return web.bytes(orjson.dumps({**series_to_json(result), "watermark": watermark.isoformat() if watermark else None}),
                         content_type="application/json")

    @app.page("/internal/event-totals")
    async def internal_event_totals(web, request):
        totals = await (await sinks()).reader.event_totals(uuid.UUID(request.query["tenant_id"]))
        return web.json({"totals": totals})
