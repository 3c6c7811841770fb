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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from billing_jobs.corrections import LateUsage, late_usage_corrections
from meterline.tracing import TraceRun, event_traces, slice_runs
from metering import Meter, UsageEvent, aggregate, storable_quantity
from stream.events import content_digest, decode_pack
from warehouse.postgres.meters import lock_tenants
from warehouse.postgres.tenant_scope import tenant_exists
from warehouse.postgres.usage import (
    add_corrections, add_dead_letters, add_duplicate_conflicts, add_duplicates, claim_new_events, invoiced_periods,
    load_positions, save_positions, upsert_usage,
)

from .clickhouse import ClickHouseEventSink, ClickHouseWrite
from .failures import UnwritableData, classify

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
    # Set only while a refused batch is split (stream/isolation.py): a piece of the
    # record's events, whether committing it advances the position (its last piece
    # does), and a reason to dead-letter its events with instead of counting them
    # (in the tenant's table too, unless `refusal_stored` is False).
    events: tuple[UsageEvent, ...] | None = None
    advances: bool = True
    refusal: str | None = None
    refusal_stored: bool = True
    # The trace of each request whose events the record holds (its `meterline-traces` header).
    traces: tuple[TraceRun, ...] = ()


@dataclass
class BatchOutcome:
    records: int = 0
    replayed_records: int = 0  # below the committed position: already applied
    received: int = 0  # events in the records applied now
    new: int = 0
    duplicates: int = 0
    conflicts: int = 0  # duplicates whose content differs from the first copy's
    corrections: int = 0
    # Dead letters for the Kafka topic, as JSON-ready dicts (already in the tenant table).
    dead_letters: list[dict] = field(default_factory=list)
    # The trace ids of the records applied now, and (tenant, event id, trace id) of each new
    # event of a sampled trace: what the agent logs after the commit (meterline/tracing.py).
    trace_ids: set[str] = field(default_factory=set)
    trail: list[tuple[str, str, str]] = field(default_factory=list)


def _event_json(event: UsageEvent) -> dict:
    return {"id": event.id, "source": event.source, "type": event.type, "subject": event.subject,
            "time": event.time.isoformat(), "data": dict(event.data)}


def _dead(tenant_id, event_id: str, meter_slug: str, reason: str, event: dict | None) -> dict:
    return {"tenant_id": str(tenant_id) if tenant_id else None, "event_id": event_id, "meter": meter_slug,
            "reason": reason, "event": event}


def _storable(value):
    """`value` with NUL characters escaped, which PostgreSQL's text and jsonb cannot hold:
    dead letters are often the very events that carry them. Only dead letters pass here."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000") if "\x00" in value else value
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def split_record(record: SourceRecord) -> tuple[SourceRecord, SourceRecord] | None:
    """The record's events in two pieces (the first does not advance the position); None
    for one event or an undecodable record."""
    try:
        events = record.events if record.events is not None else tuple(decode_pack(record.value).events)
    except Exception:  # noqa: BLE001 - undecodable: refused whole
        return None
    if len(events) < 2:
        return None
    middle = len(events) // 2
    return (replace(record, events=tuple(events[:middle]), advances=False,
                    traces=slice_runs(record.traces, 0, middle)),
            replace(record, events=tuple(events[middle:]), traces=slice_runs(record.traces, middle, len(events))))


def refuse_record(record: SourceRecord, reason: str) -> SourceRecord:
    return replace(record, refusal=reason)


def give_up_record(record: SourceRecord, reason: str) -> SourceRecord:
    return replace(record, refusal=reason, refusal_stored=False)


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


def _sampled(record: SourceRecord, events: Sequence[UsageEvent], sampled: dict[tuple, str],
             outcome: BatchOutcome) -> None:
    """The record's trace ids for the batch's log line, and its sampled events' traces."""
    outcome.trace_ids.update(run.trace_id for run in record.traces if run.trace_id)
    if any(run.sampled for run in record.traces):
        for event, trace in zip(events, event_traces(record.traces, len(events))):
            if trace is not None and trace.sampled:
                sampled[event.tenant_id, event.id] = trace.trace_id


def _sort_records(records: Sequence[SourceRecord], applied: dict[int, int], horizon_start: datetime,
                  horizon_days: int, outcome: BatchOutcome, sampled: dict[tuple, str]):
    """The batch's records decoded and sorted by tenant: the positions they advance to, each
    tenant's first copy of each event, its repeats within the batch and its events refused
    with their reasons (older than `horizon_start`, or refused by a split batch's
    isolation). Records already applied are skipped, undecodable ones dead-lettered."""
    topic = records[0].topic
    positions: dict[int, tuple[int, datetime]] = {}
    by_tenant: dict[uuid.UUID, dict[str, UsageEvent]] = defaultdict(dict)
    repeats: dict[uuid.UUID, list[UsageEvent]] = defaultdict(list)
    refused: dict[uuid.UUID, list[tuple[UsageEvent, str]]] = defaultdict(list)
    for record in records:
        if record.offset < applied.get(record.partition, 0):
            outcome.replayed_records += 1
            continue
        last = positions.get(record.partition)
        if record.advances and (last is None or record.offset + 1 > last[0]):
            positions[record.partition] = (record.offset + 1, record.timestamp)
        if record.events is not None:
            events = record.events
        else:
            try:
                events = decode_pack(record.value).events
            except Exception as exc:  # noqa: BLE001 - a bad record must not stop the stream
                outcome.dead_letters.append(_dead(None, f"{topic}/{record.partition}@{record.offset}", "",
                                                  f"undecodable record: {exc!r}"[:500], None))
                continue
        if record.traces:
            _sampled(record, events, sampled, outcome)
        if record.refusal is not None:
            outcome.received += len(events)
            if record.refusal_stored:
                for event in events:
                    refused[event.tenant_id].append((event, record.refusal))
            else:
                outcome.dead_letters.extend(_storable(_dead(e.tenant_id, e.id, "", record.refusal, _event_json(e)))
                                            for e in events)
            continue
        for event in events:
            outcome.received += 1
            if event.time < horizon_start:
                refused[event.tenant_id].append((event, f"time {event.time.isoformat()} is older than the "
                                                       f"dedup horizon ({horizon_days} days)"))
            elif event.id in by_tenant[event.tenant_id]:
                # The first copy within a batch wins, as the first across batches does.
                repeats[event.tenant_id].append(event)
            else:
                by_tenant[event.tenant_id][event.id] = event
    return positions, by_tenant, repeats, refused


async def _claim(conn, tenant_id: uuid.UUID, unique: dict[str, UsageEvent], repeats: Sequence[UsageEvent],
                 outcome: BatchOutcome) -> list[UsageEvent]:
    """Claim the tenant's ids in its dedup record, with each first copy's digest; returns
    the events not seen before. Duplicates (earlier batches' ids, repeats within this
    one) whose digest differs from the first copy's are recorded as conflicts."""
    digests = {e.id: content_digest(e) for e in unique.values()}
    new_ids = await claim_new_events(conn, tenant_id, sorted((e.id, e.time, digests[e.id]) for e in unique.values()))
    if repeats or len(new_ids) < len(unique):
        # Only batches with duplicates pay for the comparison.
        duplicates = [(i, d) for i, d in digests.items() if i not in new_ids]
        duplicates += [(e.id, content_digest(e)) for e in repeats]
        outcome.conflicts += await add_duplicate_conflicts(conn, tenant_id, duplicates)
    return [e for e in unique.values() if e.id in new_ids]


def _check_storable(windows) -> None:
    """A window sum beyond what every store holds (metering.storable_quantity) refuses the
    batch like a store would, before ClickHouse sees it: isolation then dead-letters the
    event that tipped the window over, and the window keeps its last storable sum."""
    for resolution, slug, _group, window, _aggregation, quantity, *_ in windows:
        if not storable_quantity(quantity):
            raise UnwritableData(f"the {resolution} window of meter {slug} from {window.isoformat()} would sum "
                                 f"to {quantity:.3E}, beyond the stores' range (metering.STORABLE_QUANTITY)")


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
        duplicates; returns the windows as committed, for ClickHouse."""
        clickhouse = ClickHouseWrite()
        for tenant_id, fresh in claimed.items():
            duplicates = len(repeats.get(tenant_id, ())) + len(by_tenant.get(tenant_id, {})) - len(fresh)
            result = aggregate(fresh, [m for m in known_meters if m.tenant_id == tenant_id])
            dead = [(d.event.id, d.meter_slug, d.reason, _event_json(d.event)) for d in result.dead_letters]
            dead += [(e.id, "", reason, _event_json(e))
                     for e, reason in refused.get(tenant_id, ())]
            # The id cut to the column's width (the event keeps it whole), NULs escaped.
            dead = [_storable((event_id[:256], *rest)) for event_id, *rest in dead]
            kinds = result.aggregations
            windows = await upsert_usage(conn, tenant_id, sorted((
                (k.resolution, k.meter_slug, k.group_key, k.window_start, kinds[tenant_id, k.meter_slug], d)
                for k, d in result.deltas.items()), key=lambda row: row[:4]))
            _check_storable(windows)
            clickhouse.add_windows(tenant_id, windows)
            for k, d in result.deltas.items():
                if k.resolution == "minute" and d.unique_values:
                    clickhouse.add_unique_values(tenant_id, k.meter_slug, k.group_key, k.window_start,
                                                 d.unique_values)
            corrections = await invoiced_corrections(conn, tenant_id, fresh, result)
            await add_corrections(conn, tenant_id, corrections)
            await add_dead_letters(conn, tenant_id, dead)
            await add_duplicates(conn, tenant_id, minute, duplicates)
            outcome.duplicates += duplicates
            outcome.corrections += len(corrections)
            outcome.dead_letters.extend(_dead(tenant_id, *row) for row in dead)
        return clickhouse

    async def write(self, records: Sequence[SourceRecord], meters: MeterSource, now: datetime) -> BatchOutcome:
        """One transaction for `records`. Raises SinkUnavailable (retry the batch) or
        UnwritableData (nothing committed; stream/isolation.py splits the batch)."""
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
            positions, by_tenant, repeats, refused = _sort_records(records, applied, horizon_start,
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
            claimed: dict[uuid.UUID, list[UsageEvent]] = {}
            new_events: list[UsageEvent] = []
            for tenant_id in sorted(set(by_tenant) | set(refused)):
                unique = by_tenant.get(tenant_id, {})
                if not await tenant_exists(conn, tenant_id):
                    # No tenant schema to hold them: the Kafka dead-letter topic is their record.
                    log.warning("dead-lettering %d events of unknown tenant %s", len(unique), tenant_id)
                    outcome.dead_letters.extend(_dead(tenant_id, e.id, "", "unknown tenant", _event_json(e))
                                                for e in [*unique.values(), *(e for e, _ in refused.get(tenant_id, ()))])
                    continue
                fresh = await _claim(conn, tenant_id, unique, repeats.get(tenant_id, ()), outcome)
                claimed[tenant_id] = fresh
                new_events.extend(fresh)

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
