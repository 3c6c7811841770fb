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
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from billing_jobs.corrections import LateUsage, late_usage_corrections
from metering import STORED_RESOLUTIONS, Meter, UsageEvent, aggregate
from stream.events import content_digest
from warehouse.postgres.meters import lock_tenants
from warehouse.postgres.tenant_scope import tenant_exists
from warehouse.postgres.usage import (
    add_corrections, add_dead_letters, add_duplicate_conflicts_by_tenant, add_duplicates_by_tenant,
    claim_new_events_by_tenant, invoiced_periods, invoiced_periods_by_tenant, load_positions, save_positions,
    upsert_usage_as_rollups,
)

from .clickhouse import ClickHouseEventSink, ClickHouseWrite
from .failures import UnwritableData, classify
from .records import (  # noqa: F401 - _storable: tests read it here
    BatchOutcome, SourceRecord, _dead, _event_json, _storable, give_up_record, refuse_record, sort_records,
    split_record,
)

__all__ = ["UsageSink", "BatchOutcome", "SourceRecord", "MeterSource", "invoiced_corrections", "split_record",
           "refuse_record", "give_up_record"]

log = logging.getLogger(__name__)


class MeterSource(Protocol):
    async def for_tenants(self, tenant_ids: Iterable[uuid.UUID]) -> Sequence[Meter]: ...

    async def ensure_current(self, conn, tenant_ids: Iterable[uuid.UUID]) -> Sequence[Meter]: ...


async def invoiced_corrections(conn, tenant_id: uuid.UUID, fresh: Sequence[UsageEvent], result) -> list:
    """Corrections for new usage in hours of issued invoices (add_corrections rows): COUNT and
    SUM add their units, MAX and LATEST restate the meter for the invoice
    (billing_jobs.corrections.late_usage_corrections); UNIQUE_COUNT is not billable."""
    if not fresh:
        return []
    periods = await invoiced_periods(conn, tenant_id, min(e.time for e in fresh))
    if not periods:
        return []
    return late_usage_corrections(
        (LateUsage(k.meter_slug, k.window_start, result.aggregations[k.tenant_id, k.meter_slug], d.quantity,
                   d.event_count)
         for k, d in result.deltas.items() if k.resolution == "hour"), periods)


async def _claim(conn, tenants: Sequence[uuid.UUID], by_tenant: dict[uuid.UUID, dict[str, UsageEvent]],
                 repeats: dict[uuid.UUID, list[UsageEvent]], outcome: BatchOutcome) -> dict[uuid.UUID, list[UsageEvent]]:
    """Claim every tenant's ids in its dedup record, with each first copy's digest, in one
    statement; returns each tenant's events not seen before. Duplicates (earlier batches'
    ids, repeats within this one) whose digest differs from the first copy's are recorded
    as conflicts."""
    # A tenant's mapping is looked up once per tenant, never per event: a UUID hashes in Python.
    claims, digests = {}, {}
    for t in tenants:
        events = by_tenant.get(t, {})
        digests[t] = tenant_digests = {i: content_digest(e) for i, e in events.items()}
        claims[t] = [(i, events[i].time, digest) for i, digest in sorted(tenant_digests.items())]
    new_ids = await claim_new_events_by_tenant(conn, claims)
    duplicates, claimed = {}, {}
    for t in tenants:
        tenant_new = new_ids[t]
        # Only tenants with duplicates pay for the comparison.
        if repeats.get(t) or len(tenant_new) < len(digests[t]):
            duplicates[t] = [(i, d) for i, d in digests[t].items() if i not in tenant_new]
            duplicates[t] += [(e.id, content_digest(e)) for e in repeats.get(t, ())]
        claimed[t] = [e for i, e in by_tenant.get(t, {}).items() if i in tenant_new]
    outcome.conflicts += sum((await add_duplicate_conflicts_by_tenant(conn, duplicates)).values())
    return claimed


def _check_storable(unstorable: list[list]) -> None:
    """A window sum beyond what every store holds (metering.STORABLE_QUANTITY; PostgreSQL
    picks them out, CommittedRollups.unstorable) refuses the batch like a store would,
    before ClickHouse sees it: isolation then dead-letters the event that tipped the window
    over, and the window keeps its last storable sum."""
    if unstorable:
        _tenant, resolution, slug, window, _group, _aggregation, quantity, *_ = unstorable[0]
        raise UnwritableData(f"the {resolution} window of meter {slug} from {window} would sum "
                             f"to {Decimal(quantity):.3E}, beyond the stores' range (metering.STORABLE_QUANTITY)")


class UsageSink:
    def __init__(self, engine: AsyncEngine, clickhouse: ClickHouseEventSink, consumer_group: str,
                 dedup_horizon: timedelta) -> None:
        self._engine = engine
        self._clickhouse = clickhouse
        self._group = consumer_group
        self._horizon = dedup_horizon

    async def _merge_windows(self, conn, claimed: dict[uuid.UUID, list[UsageEvent]],
                             by_tenant: dict[uuid.UUID, dict[str, UsageEvent]],
                             repeats: dict[uuid.UUID, list[UsageEvent]],
                             refused: dict[uuid.UUID, list[tuple[UsageEvent, str]]], known_meters: Sequence[Meter],
                             minute: datetime, outcome: BatchOutcome) -> ClickHouseWrite:
        """Usage of each tenant's new events into its windows, corrections, dead letters and
        duplicates; returns the windows as committed, for ClickHouse. One statement per kind
        of row for all tenants (windows, duplicates, invoices), not one per tenant."""
        clickhouse = ClickHouseWrite()
        # Hours are the finest windows kept (metering.STORED_RESOLUTIONS), so events go into
        # hours: a minute per key would be merged into its hour and dropped.
        result = aggregate([e for fresh in claimed.values() for e in fresh],
                           [m for m in known_meters if m.tenant_id in claimed], STORED_RESOLUTIONS)
        kinds = result.aggregations
        rows: dict[uuid.UUID, list] = {t: [] for t in claimed}
        for k, d in result.deltas.items():
            if k.resolution == "hour" and d.unique_values:
                # UNIQUE_COUNT's distinct values of the hour, for ClickHouse's hour and day states.
                clickhouse.add_unique_values(k.tenant_id, k.meter_slug, k.group_key, k.window_start, d.unique_values)
            rows[k.tenant_id].append((k.resolution, k.meter_slug, k.group_key, k.window_start,
                                      kinds[k.tenant_id, k.meter_slug], d))
        for tenant_rows in rows.values():
            tenant_rows.sort(key=lambda row: row[:4])
        committed = await upsert_usage_as_rollups(conn, rows)
        _check_storable(committed.unstorable)
        clickhouse.rollup_lines = committed.lines
        periods = await invoiced_periods_by_tenant(
            conn, {t: min(e.time for e in fresh) for t, fresh in claimed.items() if fresh})
        dead: dict[uuid.UUID, list] = defaultdict(list)
        for d in result.dead_letters:
            dead[d.event.tenant_id].append((d.event.id, d.meter_slug, d.reason, _event_json(d.event)))
        duplicates = {}
        for tenant_id in claimed:
            dead[tenant_id] += [(e.id, "", reason, _event_json(e)) for e, reason in refused.get(tenant_id, ())]
            # The id cut to the column's width (the event keeps it whole), NULs escaped.
            tenant_dead = [_storable((event_id[:256], *rest)) for event_id, *rest in dead[tenant_id]]
            corrections = late_usage_corrections(
                (LateUsage(slug, window, resolution_kind, d.quantity, d.event_count)
                 for resolution, slug, _group, window, resolution_kind, d in rows[tenant_id] if resolution == "hour"),
                periods.get(tenant_id, ()))
            await add_corrections(conn, tenant_id, corrections)
            await add_dead_letters(conn, tenant_id, tenant_dead)
            duplicates[tenant_id] = (len(repeats.get(tenant_id, ())) + len(by_tenant.get(tenant_id, {}))
                                     - len(claimed[tenant_id]))
            outcome.corrections += len(corrections)
            outcome.dead_letters.extend(_dead(tenant_id, *row) for row in tenant_dead)
        await add_duplicates_by_tenant(conn, minute, duplicates)
        outcome.duplicates += sum(duplicates.values())
        return clickhouse

    async def write(self, records: Sequence[SourceRecord], meters: MeterSource, now: datetime) -> BatchOutcome:
        """One transaction for `records`. Raises SinkUnavailable (retry the batch),
        UnwritableData (nothing committed; stream/isolation.py splits the batch) or
        MetersStale (nothing committed; reload the meters and write it again)."""
        try:
            return await self._write(records, meters, now)
        except Exception as exc:
            raise classify(exc) from exc

    async def _write(self, records: Sequence[SourceRecord], meters: MeterSource, now: datetime) -> BatchOutcome:
        outcome = BatchOutcome(records=len(records))
        if not records:
            return outcome
        topic = records[0].topic
        horizon_start = now - self._horizon
        async with self._engine.begin() as conn:
            applied = await load_positions(conn, self._group, topic, {r.partition for r in records})
            sampled: dict[tuple, str] = {}
            positions, by_tenant, repeats, refused = sort_records(records, applied, horizon_start,
                                                                   self._horizon.days, outcome, sampled)
            known_meters = await meters.for_tenants(by_tenant) if by_tenant else []
            # Shared until the commit: a new meter's backfill (exclusive) waits for this
            # batch, or this batch for it and then applies the meter (stream/backfill.py).
            await lock_tenants(conn, set(by_tenant) | set(refused), exclusive=False)
            if by_tenant:
                known_meters = await meters.ensure_current(conn, by_tenant)
            minute = now.replace(second=0, microsecond=0)
            # Tenants, ids and windows in a fixed order: two workers writing the same
            # tenant's rows (a rebalance, duplicates across partitions) then take their
            # row locks in the same order (every claim, then every window, by tenant) and
            # wait for each other instead of deadlocking.
            known: list[uuid.UUID] = []
            for tenant_id in sorted(set(by_tenant) | set(refused)):
                if await tenant_exists(conn, tenant_id):
                    known.append(tenant_id)
                    continue
                # No tenant schema to hold them: the Kafka dead-letter topic is their record.
                unique = by_tenant.get(tenant_id, {})
                log.warning("dead-lettering %d events of unknown tenant %s", len(unique), tenant_id)
                outcome.dead_letters.extend(_dead(tenant_id, e.id, "", "unknown tenant", _event_json(e))
                                            for e in [*unique.values(), *(e for e, _ in refused.get(tenant_id, ()))])
            claimed = await _claim(conn, known, by_tenant, repeats, outcome)
            new_events = [e for fresh in claimed.values() for e in fresh]

            clickhouse = await self._merge_windows(conn, claimed, by_tenant, repeats, refused, known_meters,
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
        if sampled:
            outcome.trail = [(str(e.tenant_id), e.id, trace_id) for e in new_events
                             if (trace_id := sampled.get((e.tenant_id, e.id))) is not None]
        return outcome
