"""A new meter's PostgreSQL windows from the events that arrived before it.

Billing and `GET /v1/usage/hourly` read PostgreSQL's windows, so a meter created after
its events must find them there, exactly once. Which events does a new meter miss? Those
committed by batches that did not apply it. The stream makes that set exact with one
lock per tenant ("its meter set", `warehouse.postgres.meters.lock_tenants`):

- every batch takes it shared before its claim and holds it to its commit, and, once it
  holds it, applies every backfilled meter of its tenants (it reloads its meters if the
  database has more than it knows: `MeterCache.ensure_current`);
- the backfill takes it exclusive, so it starts once the batches in flight for the tenant
  have committed (their raw rows are in ClickHouse: a batch inserts them before its
  commit), and batches after it wait for its commit, then apply the meter.

So the backfill counts every event committed before it (raw events in ClickHouse whose
(id, time) PostgreSQL's dedup record holds: raw rows of a batch killed before its commit
are left out, its replay counts them under the meter) and no batch before it applied the
meter. It merges them with the stream's own upsert (revisions and merge rules), records
dead letters and corrections of invoiced periods as the stream does, and marks the meter
backfilled in the same transaction: a crash leaves nothing, and the next refresh retries.

Cost: one ClickHouse read of the tenant's raw events of the meter's type (every copy),
one PostgreSQL round trip per tenant, while that tenant's batches wait. Meters created
before any event (the usual case) read nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING


from warehouse.postgres.meters import claim_pending_meters, lock_tenants, mark_backfilled
from warehouse.postgres.tenant_scope import tenant_exists
from warehouse.postgres.usage import add_corrections, add_dead_letters, committed_among, upsert_usage_as_rollups

from metering import STORED_RESOLUTIONS, Meter, UsageEvent, aggregate
from .sinks.postgres import invoiced_corrections

if TYPE_CHECKING:  # annotations only: the engine is the composition root's
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["RawEvents", "backfill_meters"]

log = logging.getLogger(__name__)

# Every stored raw copy of the events of the given (tenant, event type) pairs.
RawEvents = Callable[[list[tuple[uuid.UUID, str]]], Awaitable[list[UsageEvent]]]


def _event_json(event: UsageEvent) -> dict:
    return {"id": event.id, "source": event.source, "type": event.type, "subject": event.subject,
            "time": event.time.isoformat(), "data": dict(event.data)}


async def backfill_meters(engine: AsyncEngine, raw_events: RawEvents, meters: Sequence[Meter],
                          dedup_horizon: timedelta) -> list[Meter]:
    """Backfill the meters not yet backfilled among `meters`; returns those it backfilled."""
    tenant_ids = sorted({m.tenant_id for m in meters})
    if not tenant_ids:
        return []
    async with engine.begin() as conn:
        await lock_tenants(conn, tenant_ids, exclusive=True)
        # After the lock: another worker may have backfilled some meanwhile.
        pending = await claim_pending_meters(conn, [(m.tenant_id, m.slug) for m in meters])
        if not pending:
            return []
        events = await raw_events(sorted({(m.tenant_id, m.event_type) for m in pending}))
        by_tenant: dict[uuid.UUID, list[UsageEvent]] = defaultdict(list)
        for event in events:
            by_tenant[event.tenant_id].append(event)
        for tenant_id in tenant_ids:
            tenant_meters = [m for m in pending if m.tenant_id == tenant_id]
            candidates = by_tenant.get(tenant_id, [])
            if not tenant_meters or not candidates or not await tenant_exists(conn, tenant_id):
                continue
            committed = await committed_among(conn, tenant_id, [(e.id, e.time) for e in candidates], dedup_horizon)
            counted: dict[str, UsageEvent] = {}
            for position in sorted(committed):
                counted.setdefault(candidates[position].id, candidates[position])  # one copy per id
            fresh = list(counted.values())
            result = aggregate(fresh, tenant_meters, STORED_RESOLUTIONS)
            kinds = result.aggregations
            # The committed windows are not needed here: the rollups start at rollup_from.
            await upsert_usage_as_rollups(conn, {tenant_id: sorted((
                (k.resolution, k.meter_slug, k.group_key, k.window_start, kinds[tenant_id, k.meter_slug], d)
                for k, d in result.deltas.items()), key=lambda row: row[:4])})
            await add_corrections(conn, tenant_id, await invoiced_corrections(conn, tenant_id, fresh, result))
            await add_dead_letters(conn, tenant_id, [(d.event.id, d.meter_slug, d.reason, _event_json(d.event))
                                                       for d in result.dead_letters])
            log.info("backfilled %d events of tenant %s into meters %s", len(fresh), tenant_id,
                     ", ".join(m.slug for m in tenant_meters))
        await mark_backfilled(conn, pending)
    return pending
