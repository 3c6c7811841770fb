"""Reconciling a tenant's usage across raw events, rollups and PostgreSQL windows, and
repairing what differs (the `reconcile-usage` flow; the comparison is metering.reconcile's).

The reference is what the stream's own `aggregate` makes of the raw events a committed
batch counted (the dedup record says which copy: a batch killed before its commit may
have left raw rows that its replay wrote again under another time), exactly as a new
meter's backfill reads them (stream/backfill.py). A repair follows the stream's rules:

- the windows are written absolute, with a revision above both stores', PostgreSQL first
  and then ClickHouse's rollups, in the tenant's transaction;
- a changed window of an invoiced period records a late-usage correction for the next
  invoice (units for COUNT and SUM, a restatement for MAX, MIN, AVG and LATEST), as a
  late event would.

Each meter and period is read and repaired holding the tenant's meter-set lock exclusively
(the lock a stream batch takes shared until its commit): batches in flight commit first,
later ones wait, so a batch half written (raw rows before its commit) is never taken for
a difference. The tenant's batches wait meanwhile: one ClickHouse read of the meter's raw
events of the period (the cost grows with them), one of its rollups, one PostgreSQL read.

The rollups of a meter only hold every window from `Meter.rollup_from` on (earlier
events were backfilled into PostgreSQL only, and readers use raw events there), so they
are compared from there on; UNIQUE_COUNT's distinct-value states are
not rebuilt (windows compare their event counts).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from billing_jobs.corrections import LateUsage, late_usage_corrections
from metering import Meter, UsageEvent
from metering.reconcile import MeterReconciliation, reconcile_meter, reference_windows, repairs
from warehouse.postgres.meters import list_meters, lock_tenants
from warehouse.postgres.tenant_scope import all_tenant_ids
from warehouse.postgres.usage import add_corrections, committed_among, invoiced_periods
from warehouse.postgres.usage.repair import meter_windows, overwrite_windows

if TYPE_CHECKING:  # annotations only: the engine and the client are the composition root's
    from sqlalchemy.ext.asyncio import AsyncEngine

    from warehouse.clickhouse.reconcile_store import ClickHouseReconcileStore

__all__ = ["Period", "UsageReconciler", "reconcile_tenant"]

log = logging.getLogger(__name__)

Period = tuple[str, datetime, datetime]  # ("open" or "closed", start, end)


def _counted(copies: Sequence[UsageEvent], committed: set[int]) -> list[UsageEvent]:
    counted: dict[str, UsageEvent] = {}
    for position in sorted(committed):
        counted.setdefault(copies[position].id, copies[position])
    return list(counted.values())


async def _reconcile_meter(conn, clickhouse: ClickHouseReconcileStore, meter: Meter, period: Period,
                           horizon: timedelta) -> MeterReconciliation:
    name, start, end = period
    copies = await asyncio.to_thread(clickhouse.raw_events, meter, start, end)
    committed = await committed_among(conn, meter.tenant_id, [(e.id, e.time) for e in copies], horizon)
    reference = reference_windows(meter, _counted(copies, committed), start, end)
    postgres = await meter_windows(conn, meter.tenant_id, meter.slug, start, end)
    applied = meter.rollup_from is not None and meter.rollup_from < end
    rollup = await asyncio.to_thread(clickhouse.rollup_windows, meter, start, end) if applied else None
    return reconcile_meter(str(meter.tenant_id), meter, name, start, end, reference, rollup, postgres)


async def _repair(conn, clickhouse: ClickHouseReconcileStore, meter: Meter, result: MeterReconciliation) -> int:
    fixed = repairs(result.differences)
    await overwrite_windows(conn, meter, fixed)
    periods = await invoiced_periods(conn, meter.tenant_id, result.start)
    if periods:
        await add_corrections(conn, meter.tenant_id, late_usage_corrections(
            (LateUsage(meter.slug, r.window.window_start, meter.aggregation, r.quantity_change, r.event_count_change)
             for r in fixed if r.window.resolution == "hour"), periods))
    if result.rollups_compared:
        # Before the commit, as the stream writes them: a failure here rolls PostgreSQL back.
        # Windows before rollup_from too: harmless (readers use raw events there), and exact.
        await asyncio.to_thread(clickhouse.write_rollups, meter, fixed)
    return len(fixed)


async def reconcile_tenant(engine: AsyncEngine, clickhouse: ClickHouseReconcileStore, tenant_id: uuid.UUID,
                           periods: Sequence[Period], dedup_horizon: timedelta, repair: bool
                           ) -> list[MeterReconciliation]:
    """Every meter of the tenant over each period; with `repair`, its differing windows rebuilt."""
    async with engine.connect() as conn:
        meters = await list_meters(conn, tenant_id)
    results = []
    for meter in meters:
        for period in periods:
            # One transaction (and lock) per meter and period: the tenant's batches wait for
            # one meter's reads and repair at a time, not for the whole tenant's.
            async with engine.begin() as conn:
                await lock_tenants(conn, [tenant_id], exclusive=True)
                result = await _reconcile_meter(conn, clickhouse, meter, period, dedup_horizon)
                if repair and result.differences:
                    repaired = await _repair(conn, clickhouse, meter, result)
                    log.info("tenant %s meter %s (%s period): %d windows rebuilt from raw events",
                             tenant_id, meter.slug, result.period, repaired)
            results.append(result)
    return results


class UsageReconciler:
    """What the flow drives: one engine and one ClickHouse client per run (the flow's event
    loop owns the engine), each tenant in its own transaction."""

    def __init__(self, engine: AsyncEngine, clickhouse: ClickHouseReconcileStore, dedup_horizon: timedelta) -> None:
        self._engine = engine
        self._clickhouse = clickhouse
        self._horizon = dedup_horizon

    async def tenant_ids(self) -> list[uuid.UUID]:
        async with self._engine.connect() as conn:
            return await all_tenant_ids(conn)

    async def reconcile(self, tenant_id: uuid.UUID | str, periods: Sequence[Period], repair: bool
                        ) -> list[MeterReconciliation]:
        tenant = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
        return await reconcile_tenant(self._engine, self._clickhouse, tenant, periods, self._horizon, repair)

    async def close(self) -> None:
        await self._engine.dispose()
        await asyncio.to_thread(self._clickhouse.close)
