"""A batch's Kafka records as the PostgreSQL sink reads them: decoded, sorted by tenant and
event id, replays skipped, refusals and the dedup horizon applied (stream/sinks/postgres.py
writes what comes out). Pure."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from meterline.tracing import TraceRun, event_traces, slice_runs
from metering import UsageEvent
from stream.events import decode_pack

__all__ = ["SourceRecord", "BatchOutcome", "split_record", "refuse_record", "give_up_record", "sort_records"]


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


def _sampled(record: SourceRecord, events: Sequence[UsageEvent], sampled: dict[tuple, str],
             outcome: BatchOutcome) -> None:
    """The record's trace ids for the batch's log line, and its sampled events' traces."""
    outcome.trace_ids.update(run.trace_id for run in record.traces if run.trace_id)
    if any(run.sampled for run in record.traces):
        for event, trace in zip(events, event_traces(record.traces, len(events))):
            if trace is not None and trace.sampled:
                sampled[event.tenant_id, event.id] = trace.trace_id


def sort_records(records: Sequence[SourceRecord], applied: dict[int, int], horizon_start: datetime,
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
        outcome.received += len(events)
        tenant_id = firsts = None
        for event in events:
            if event.tenant_id is not tenant_id:
                # A pack's events share one tenant object: a UUID is hashed in Python, so
                # its dict is looked up once per pack, not twice per event.
                tenant_id = event.tenant_id
                firsts = by_tenant[tenant_id]
            if event.time < horizon_start:
                refused[tenant_id].append((event, f"time {event.time.isoformat()} is older than the "
                                                 f"dedup horizon ({horizon_days} days)"))
            elif event.id in firsts:
                # The first copy within a batch wins, as the first across batches does.
                repeats[tenant_id].append(event)
            else:
                firsts[event.id] = event
    for emptied in [t for t, events in by_tenant.items() if not events]:
        del by_tenant[emptied]  # each of its events refused: nothing of it to claim
    return positions, by_tenant, repeats, refused
