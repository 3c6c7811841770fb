"""The exactly-once step: positions, dedup record, ClickHouse, usage and the ledger, in order.

For each batch of Kafka records, in one PostgreSQL transaction:

1. lock the consumer positions of the batch's partitions (public.stream_position) and
   skip records below them: a replay of work already committed is recognised as such,
   not counted as duplicates;
2. claim the event ids in each tenant's dedup record (only ids not seen before come
   back); events older than the dedup horizon are dead letters, since they could no
   longer be deduplicated;
3. merge their usage into the minute, hour and day windows (per meter and group);
   usage in a period already invoiced is also recorded as a pending correction for
   the next invoice; record dead letters and the duplicate tally;
4. write the new events to ClickHouse, with the windows as PostgreSQL now holds them
   (absolute values and revisions: the rollups) and UNIQUE_COUNT meters' values;
5. advance the positions; commit.

A crash before the commit leaves PostgreSQL untouched and the replay claims the same
ids again; the raw rows it rewrites are identical and collapse, and the rollup windows
it rewrites carry a revision at least as high, written later, so they win (see
warehouse/clickhouse/ddl.py). A crash after the commit makes the replay a no-op, even
when Kafka's own offset commit was lost.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_jobs.corrections import LateUsage, late_usage_corrections
from metering import Meter, UsageEvent, aggregate
from stream.events import decode_pack
from warehouse.postgres.meters import lock_tenants
from warehouse.postgres.tables import tenant
from warehouse.postgres.usage import (
    add_corrections, add_dead_letters, add_duplicates, claim_new_events, invoiced_periods, load_positions,
    save_positions, upsert_usage,
)

from .clickhouse import ClickHouseEventSink, ClickHouseWrite

__all__ = ["UsageSink", "BatchOutcome", "SourceRecord", "MeterSource", "invoiced_corrections"]

log = logging.getLogger(__name__)


class MeterSource(Protocol):
    async def for_tenants(self, tenant_ids: Iterable[uuid.UUID]) -> Sequence[Meter]: ...

    async def ensure_current(self, conn, tenant_ids: Iterable[uuid.UUID]) -> Sequence[Meter]: ...


@dataclass(frozen=True)
class SourceRecord:
    """One Kafka record as the sink sees it (faust stays in stream/app.py)."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    value: bytes


@dataclass
class BatchOutcome:
    records: int = 0
    replayed_records: int = 0  # below the committed position: already applied
    received: int = 0  # events in the records applied now
    new: int = 0
    duplicates: int = 0
    corrections: int = 0
    # Dead letters for the Kafka topic, as JSON-ready dicts (already in the tenant table).
    dead_letters: list[dict] = field(default_factory=list)


def _event_json(event: UsageEvent) -> dict:
    return {"id": event.id, "source": event.source, "type": event.type, "subject": event.subject,
            "time": event.time.isoformat(), "data": dict(event.data)}


def _dead(tenant_id, event_id: str, meter_slug: str, reason: str, event: dict | None) -> dict:
    return {"tenant_id": str(tenant_id) if tenant_id else None, "event_id": event_id, "meter": meter_slug,
            "reason": reason, "event": event}


async def invoiced_corrections(conn, schema_name: str, fresh: Sequence[UsageEvent], result) -> list:
    """Corrections for new usage in hours of issued invoices (add_corrections rows): COUNT and
    SUM add their units, MAX and LATEST restate the meter for the invoice
    (billing_jobs.corrections.late_usage_corrections); UNIQUE_COUNT is not billable."""
    if not fresh:
        return []
    periods = await invoiced_periods(conn, schema_name, min(e.time for e in fresh))
    if not periods:
        return []
    return late_usage_corrections(
        (LateUsage(k.meter_slug, k.window_start, result.aggregations[k.tenant_id, k.meter_slug], d.quantity,
                   d.event_count)
         for k, d in result.deltas.items() if k.resolution == "hour"), periods)


def _sort_records(records: Sequence[SourceRecord], applied: dict[int, int], horizon_start: datetime,
                  outcome: BatchOutcome):
    """The batch's records decoded and sorted by tenant: the positions they advance to, each
    tenant's first copy of each event, its repeats within the batch and its events beyond
    the dedup horizon. Records already applied are skipped, undecodable ones dead-lettered."""
    topic = records[0].topic
    positions: dict[int, tuple[int, datetime]] = {}
    by_tenant: dict[uuid.UUID, dict[str, UsageEvent]] = defaultdict(dict)
    repeats: dict[uuid.UUID, int] = defaultdict(int)
    too_old: dict[uuid.UUID, list[UsageEvent]] = defaultdict(list)
    for record in records:
        if record.offset < applied.get(record.partition, 0):
            outcome.replayed_records += 1
            continue
        last = positions.get(record.partition)
        if last is None or record.offset + 1 > last[0]:
            positions[record.partition] = (record.offset + 1, record.timestamp)
        try:
            pack = decode_pack(record.value)
        except Exception as exc:  # noqa: BLE001 - a bad record must not stop the stream
            outcome.dead_letters.append(_dead(None, f"{topic}/{record.partition}@{record.offset}", "",
                                              f"undecodable record: {exc!r}"[:500], None))
            continue
        for event in pack.events:
            outcome.received += 1
            if event.time < horizon_start:
                too_old[event.tenant_id].append(event)
            elif event.id in by_tenant[event.tenant_id]:
                # The first copy within a batch wins, as the first across batches does.
                repeats[event.tenant_id] += 1
            else:
                by_tenant[event.tenant_id][event.id] = event
    return positions, by_tenant, repeats, too_old


class UsageSink:
    def __init__(self, engine: AsyncEngine, clickhouse: ClickHouseEventSink, consumer_group: str,
                 dedup_horizon: timedelta) -> None:
        self._engine = engine
        self._clickhouse = clickhouse
        self._group = consumer_group
        self._horizon = dedup_horizon
        self._schemas: dict[uuid.UUID, str | None] = {}

    async def _schema_of(self, conn, tenant_id: uuid.UUID) -> str | None:
        if self._schemas.get(tenant_id) is None:
            self._schemas[tenant_id] = (await conn.execute(
                select(tenant.c.schema_name).where(tenant.c.id == tenant_id)
            )).scalar_one_or_none()
        return self._schemas[tenant_id]

    async def _merge_windows(self, conn, claimed: dict[uuid.UUID, tuple[str, list[UsageEvent]]],
                             by_tenant: dict[uuid.UUID, dict[str, UsageEvent]], repeats: dict[uuid.UUID, int],
                             too_old: dict[uuid.UUID, list[UsageEvent]], known_meters: Sequence[Meter],
                             minute: datetime, outcome: BatchOutcome) -> ClickHouseWrite:
        """Usage of each tenant's new events into its windows, corrections, dead letters and
        duplicates; returns the windows as committed, for ClickHouse."""
        clickhouse = ClickHouseWrite()
        for tenant_id, (schema_name, fresh) in claimed.items():
            duplicates = repeats.get(tenant_id, 0) + len(by_tenant.get(tenant_id, {})) - len(fresh)
            result = aggregate(fresh, [m for m in known_meters if m.tenant_id == tenant_id])
            dead = [(d.event.id, d.meter_slug, d.reason, _event_json(d.event)) for d in result.dead_letters]
            dead += [(e.id, "", f"time {e.time.isoformat()} is older than the dedup horizon "
                                f"({self._horizon.days} days)", _event_json(e))
                     for e in too_old.get(tenant_id, ())]
            kinds = result.aggregations
            windows = await upsert_usage(conn, schema_name, sorted((
                (k.resolution, k.meter_slug, k.group_key, k.window_start, kinds[tenant_id, k.meter_slug], d)
                for k, d in result.deltas.items()), key=lambda row: row[:4]))
            clickhouse.add_windows(tenant_id, windows)
            for k, d in result.deltas.items():
                if k.resolution == "minute" and d.unique_values:
                    clickhouse.add_unique_values(tenant_id, k.meter_slug, k.group_key, k.window_start,
                                                 d.unique_values)
            corrections = await invoiced_corrections(conn, schema_name, fresh, result)
            await add_corrections(conn, schema_name, corrections)
            await add_dead_letters(conn, schema_name, dead)
            await add_duplicates(conn, schema_name, minute, duplicates)
            outcome.duplicates += duplicates
            outcome.corrections += len(corrections)
            outcome.dead_letters.extend(_dead(tenant_id, *row) for row in dead)
        return clickhouse

    async def write(self, records: Sequence[SourceRecord], meters: MeterSource, now: datetime) -> BatchOutcome:
        outcome = BatchOutcome(records=len(records))
        if not records:
            return outcome
        topic = records[0].topic
        horizon_start = now - self._horizon
        async with self._engine.begin() as conn:
            applied = await load_positions(conn, self._group, topic, {r.partition for r in records})
            positions, by_tenant, repeats, too_old = _sort_records(records, applied, horizon_start, outcome)
            known_meters = await meters.for_tenants(by_tenant) if by_tenant else []
            # Shared until the commit: a new meter's backfill (exclusive) waits for this
            # batch, or this batch for it and then applies the meter (stream/backfill.py).
            await lock_tenants(conn, set(by_tenant) | set(too_old), exclusive=False)
            if by_tenant:
                known_meters = await meters.ensure_current(conn, by_tenant)
            minute = now.replace(second=0, microsecond=0)
            # Tenants, ids and windows in a fixed order: two workers writing the same
            # tenant's rows (a rebalance, duplicates across partitions) then take their
            # row locks in the same order (every claim, then every window, by tenant) and
            # wait for each other instead of deadlocking.
            claimed: dict[uuid.UUID, tuple[str, list[UsageEvent]]] = {}
            new_events: list[UsageEvent] = []
            for tenant_id in sorted(set(by_tenant) | set(too_old)):
                unique = by_tenant.get(tenant_id, {})
                schema_name = await self._schema_of(conn, tenant_id)
                if schema_name is None:
                    # No tenant schema to hold them: the Kafka dead-letter topic is their record.
                    log.warning("dead-lettering %d events of unknown tenant %s", len(unique), tenant_id)
                    outcome.dead_letters.extend(_dead(tenant_id, e.id, "", "unknown tenant", _event_json(e))
                                                for e in [*unique.values(), *too_old.get(tenant_id, ())])
                    continue
                new_ids = await claim_new_events(conn, schema_name, sorted((e.id, e.time) for e in unique.values()))
                fresh = [e for e in unique.values() if e.id in new_ids]
                claimed[tenant_id] = (schema_name, fresh)
                new_events.extend(fresh)

            clickhouse = await self._merge_windows(conn, claimed, by_tenant, repeats, too_old, known_meters,
                                                   minute, outcome)
            # Last before the commit, raw events included: a SIGKILL between this insert and
            # the commit leaves raw rows that the replay may write again under another copy's
            # time (ids decide, times may differ), which raw-event reads would count twice.
            # Inserting them earlier, overlapped with the upserts, widened that window enough
            # to fail test_sigkill_mid_stream_and_restart_leaves_totals_exact (minute windows).
            clickhouse.events = new_events
            await self._clickhouse.write(clickhouse)
            await save_positions(conn, self._group, topic, positions)
        outcome.new = len(new_events)
        return outcome
