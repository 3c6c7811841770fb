"""The exactly-once step: dedup record, usage windows and the ClickHouse write, in order.

For each batch, in one PostgreSQL transaction: claim the event ids (only ids not
seen before come back), write those events to ClickHouse, add their usage, commit.
A crash before the commit leaves PostgreSQL untouched and the replay claims the same
ids again; the ClickHouse rows it rewrites are identical and collapse (see
warehouse/clickhouse/ddl.py). A crash after the commit makes the replay a no-op.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from stream.aggregation import AggregationResult, Meter, UsageEvent, aggregate
from warehouse.postgres.tables import tenant
from warehouse.postgres.usage import add_usage, claim_new_events

from .clickhouse import ClickHouseEventSink

__all__ = ["UsageSink", "BatchOutcome"]

log = logging.getLogger(__name__)


class BatchOutcome:
    __slots__ = ("received", "new", "duplicates", "dead_letters")

    def __init__(self, received: int, new: int, dead_letters: list) -> None:
        self.received = received
        self.new = new
        self.duplicates = received - new
        self.dead_letters = dead_letters


class UsageSink:
    def __init__(self, engine: AsyncEngine, clickhouse: ClickHouseEventSink) -> None:
        self._engine = engine
        self._clickhouse = clickhouse
        self._schemas: dict[uuid.UUID, str | None] = {}

    async def _schema_of(self, conn, tenant_id: uuid.UUID) -> str | None:
        if tenant_id not in self._schemas:
            self._schemas[tenant_id] = (await conn.execute(
                select(tenant.c.schema_name).where(tenant.c.id == tenant_id)
            )).scalar_one_or_none()
        return self._schemas[tenant_id]

    async def write(self, events: Sequence[UsageEvent], meters: Sequence[Meter]) -> BatchOutcome:
        by_tenant: dict[uuid.UUID, dict[str, UsageEvent]] = defaultdict(dict)
        for event in events:
            # The first copy within a batch wins, as the first across batches does.
            by_tenant[event.tenant_id].setdefault(event.id, event)

        new_events: list[UsageEvent] = []
        async with self._engine.begin() as conn:
            per_tenant: list[tuple[str, AggregationResult]] = []
            for tenant_id, unique in by_tenant.items():
                schema_name = await self._schema_of(conn, tenant_id)
                if schema_name is None:
                    log.warning("dropping %d events of unknown tenant %s", len(unique), tenant_id)
                    continue
                claimed = await claim_new_events(conn, schema_name, [(e.id, e.time) for e in unique.values()])
                fresh = [e for e in unique.values() if e.id in claimed]
                new_events.extend(fresh)
                per_tenant.append((schema_name, aggregate(fresh, [m for m in meters if m.tenant_id == tenant_id])))
            # Before the commit: if this fails, nothing is marked as processed.
            await self._clickhouse.write(new_events)
            dead_letters = []
            for schema_name, result in per_tenant:
                await add_usage(conn, schema_name, [(k.meter_slug, k.window_start, d) for k, d in result.deltas.items()])
                dead_letters.extend(result.dead_letters)
        return BatchOutcome(len(events), len(new_events), dead_letters)
