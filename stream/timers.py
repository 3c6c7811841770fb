"""The timers: pruning the dedup record, refreshing meters and the freshness watermark."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from warehouse.postgres.tenant_scope import all_tenant_ids
from warehouse.postgres.usage import prune_processed_events

from .resources import WorkerResources

__all__ = ["register_timers"]

log = logging.getLogger("meterline.stream")


def register_timers(app, resources: WorkerResources) -> None:
    config = resources.stream

    @app.timer(interval=config.prune_interval_s)
    async def prune_dedup_record():
        """Forget dedup records beyond the horizon, a chunk per transaction."""
        try:
            await _prune(resources)
        except Exception:  # noqa: BLE001 - an exception would stop the timer; the next run resumes
            log.warning("pruning the dedup record failed", exc_info=True)

    @app.timer(interval=config.meter_refresh_s)
    async def refresh_meters():
        """New meters are backfilled even when no event of their tenant arrives."""
        try:
            opened = await resources.sinks()
            async with resources.writing.writer:
                await opened.meters.backfill_pending()
        except Exception:  # noqa: BLE001 - an exception would stop the timer; the next batch refreshes too
            log.warning("refreshing meters failed", exc_info=True)

    @app.timer(interval=1.0)
    async def refresh_freshness():
        # Off the request path: asking the consumer thread for end offsets can wait for
        # its fetch loop (~1 s), and the watermark may lag a second: it stays a lower bound.
        try:
            await resources.refresh_freshness()
        except Exception:  # noqa: BLE001 - sinks down: keep the last known watermark
            log.warning("freshness not refreshed", exc_info=True)


async def _prune(resources: WorkerResources) -> None:
    config = resources.stream
    opened = await resources.sinks()
    before = datetime.now(timezone.utc) - timedelta(days=config.dedup_horizon_days)
    async with opened.engine.connect() as conn:
        tenant_ids = await all_tenant_ids(conn)
    for tenant_id in tenant_ids:
        while True:
            async with opened.engine.begin() as conn:
                removed = await prune_processed_events(conn, tenant_id, before, config.prune_chunk_rows)
            resources.metrics.pruned.inc(removed)
            if removed < config.prune_chunk_rows:
                break
