"""The agent: each batch of the events topic, written to the sinks until it succeeds.

An outage (SinkUnavailable) retries the whole batch with backoff; events a store refuses
(UnwritableData) are isolated and dead-lettered while the rest commits (isolation.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime, timezone

import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from meterline.logs import TRAIL_LOGGER
from meterline.tracing import TRACE_HEADER, decode_runs

from .isolation import write_isolating
from .lanes import split_lanes
from .metrics import StreamMetrics
from .resources import WorkerResources
from .sinks.failures import MetersStale, UnwritableData
from .sinks.postgres import BatchOutcome, SourceRecord, UsageSink, give_up_record, refuse_record, split_record
from .transactions import bounded_runs

__all__ = ["register_agent"]

log = logging.getLogger("meterline.stream")
trail = logging.getLogger(TRAIL_LOGGER)
# Trace ids named in a batch's log line; the rest are counted. A batch of single-event
# requests holds thousands.
_TRACE_IDS_LOGGED = 20


_writes_without_gc = 0


@contextlib.contextmanager
def _no_cyclic_gc():
    """No cyclic garbage collection while a batch is written. A catch-up batch holds
    hundreds of thousands of live objects (events, windows, rows), all freed by reference
    counting, and each full collection walks them all: it cost a third of decoding and
    aggregating. Collections resume when no lane is writing, so cycles are still reclaimed."""
    global _writes_without_gc
    if _writes_without_gc == 0 and not gc.isenabled():
        yield  # turned off by someone else: theirs to turn on
        return
    _writes_without_gc += 1
    gc.disable()
    try:
        yield
    finally:
        _writes_without_gc -= 1
        if _writes_without_gc == 0:
            gc.enable()


def register_agent(app, resources: WorkerResources, events_topic, dead_letter_topic) -> None:
    config = resources.stream

    @app.agent(events_topic)
    async def count_usage(stream):
        async for batch in stream.take_events(config.batch_size, within=config.batch_window_s):
            # Each record's faust message, by (partition, offset): what a revocation drops.
            messages = {(e.message.partition, e.message.offset): e.message for e in batch}
            records = [SourceRecord(e.message.topic, e.message.partition, e.message.offset,
                                    datetime.fromtimestamp(e.message.timestamp, timezone.utc), e.value,
                                    traces=decode_runs(_trace_header(e.message.headers)))
                       for e in batch]
            del batch
            await _write_take(resources, records, messages, dead_letter_topic)
            del records, messages


async def _write_take(resources: WorkerResources, records: list[SourceRecord], messages: dict,
                      dead_letter_topic) -> None:
    """A take, in lanes written at once (stream/lanes.py), each run by run, until it is
    written or its partitions are revoked; then what is left unwritten is dropped
    (stream/rebalance.py)."""
    unwritten = dict(messages)
    lanes = split_lanes(records, resources.stream.write_lanes)
    if len(lanes) == 1:
        await _write_lane(resources, lanes[0], messages, unwritten, dead_letter_topic, decode_ahead=True)
    elif lanes:
        # A lane that fails cancels the others (their transactions roll back), as one
        # failing lane stopped the take before.
        async with asyncio.TaskGroup() as group:
            for lane in lanes:
                group.create_task(_write_lane(resources, lane, messages, unwritten, dead_letter_topic,
                                              decode_ahead=False))
    if unwritten:
        _drop(resources, unwritten)


async def _write_lane(resources: WorkerResources, records: list[SourceRecord], messages: dict, unwritten: dict,
                      dead_letter_topic, decode_ahead: bool) -> None:
    """One lane's records, run by run; what it writes leaves `unwritten`. `decode_ahead`:
    decode the next run in a thread while this one is written (a lone lane). With several
    lanes the others fill the waits, and the next run is decoded here, after this one is
    released: on a 5,000,000-event catch-up, a run decoded ahead per lane peaked at 412 MB,
    decoding in threads after the write at 404 MB (glibc's per-thread arenas), on the event
    loop at 380 MB, all three at 36,300-43,200 events/s (bench/README.md, "Issue 16: lanes")."""
    config, ownership = resources.stream, resources.ownership

    def held(record: SourceRecord) -> bool:
        return ownership.holds(messages[record.partition, record.offset].generation_id)

    # One transaction per bounded run (stream/transactions.py): memory and the time
    # before anything is visible stay bounded on any backlog. Records revoked before
    # their run is cut are not even decoded.
    runs = bounded_runs((r for r in records if held(r)), config.max_transaction_events,
                        config.max_transaction_bytes)
    # Cyclic collection stays off only while a run is written (_write_until_done), not
    # for the whole take: between runs, what a run's transaction left in cycles is freed
    # (with it off for a take of ~25 runs, a catch-up worker grew ~40 MB per take).
    run = next(runs, None)
    while run is not None:
        # A lone lane decodes the next run in a thread while this one is written: decoding
        # is this process's CPU, writing mostly waits for PostgreSQL and ClickHouse.
        following = asyncio.ensure_future(asyncio.to_thread(next, runs, None)) if decode_ahead else None
        try:
            # Revoked while it was cut or waited: not written (the new owner reads it).
            written, outcomes = await _write_until_done(resources, [r for r in run if held(r)], held)
        finally:
            if following is not None:
                run = await following
        for record in written:
            unwritten.pop((record.partition, record.offset), None)
        generation = messages[written[0].partition, written[0].offset].generation_id if written else None
        for outcome in outcomes:
            _count(resources.metrics, outcome)
            _log_batch(outcome, written, generation)
            # After the commit: the tenant table has them already; the topic is a feed.
            for dead in outcome.dead_letters:
                await dead_letter_topic.send(value=orjson.dumps(dead))
        del written, outcomes  # not held decoded while the next run is written
        if following is None:
            run = None  # nor while it is decoded
            run = next(runs, None)


def _drop(resources: WorkerResources, unwritten: dict) -> None:
    """The take's records not written because their partitions were revoked: marked done
    without an ack, as faust itself treats messages of an old generation, so their offsets
    are never committed to Kafka (Kafka's committed offset stays at or below PostgreSQL's
    position) and faust's rebalance need not wait for them. After the rebalance, their
    partitions are read again from PostgreSQL's positions."""
    held = [key for key, message in unwritten.items() if resources.ownership.holds(message.generation_id)]
    if held:
        # Cannot happen (only revoked records are left out, and a revocation is never
        # undone); if it did, the next records' positions would skip these. A SIGKILL,
        # which the stream survives exactly, acks and writes nothing more.
        log.critical("records still held were left unwritten; killing the worker", extra={"records": held[:20]})
        os.kill(os.getpid(), signal.SIGKILL)
    by_partition: dict[int, list[int]] = {}
    for (partition, offset), message in unwritten.items():
        message.acked = True
        by_partition.setdefault(partition, []).append(offset)
    resources.metrics.records_dropped.inc(len(unwritten))
    log.info("dropped the take's records of revoked partitions", extra={
        "records": len(unwritten), "revoked_generation": resources.ownership.revoked_generation,
        "from_offsets": {str(p): min(o) for p, o in sorted(by_partition.items())}})


class _SinkWriter:
    """The PostgreSQL sink as isolation.py's port, for one attempt at one batch."""

    split = staticmethod(split_record)
    refuse = staticmethod(refuse_record)
    give_up = staticmethod(give_up_record)

    def __init__(self, sink: UsageSink, meters, now: datetime, metrics: StreamMetrics, writing) -> None:
        self._sink, self._meters, self._now, self._metrics, self._writing = sink, meters, now, metrics, writing

    async def write(self, records):
        while True:
            try:
                # Shared by the lanes' batches; a meter reload waits for all of them
                # (stream/meters.py says why), and a backfill under it for their locks.
                async with self._writing.reader:
                    return await self._sink.write(records, self._meters, self._now)
            except MetersStale as stale:
                started = time.perf_counter()
                async with self._writing.writer:
                    waited = time.perf_counter() - started
                    await self._meters.refresh(tenant_ids=stale.tenant_ids)
                log.info("meters reloaded before a batch", extra={
                    "tenants": len(stale.tenant_ids), "waited_s": round(waited, 3),
                    "reload_s": round(time.perf_counter() - started - waited, 3)})
            except UnwritableData as exc:
                self._metrics.unwritable_batches.inc()
                log.warning("a store refused %d records for their data (%s); isolating", len(records), exc.reason)
                raise


async def _write_until_done(resources: WorkerResources, records: list[SourceRecord],
                            held: Callable[[SourceRecord], bool]) -> tuple[list[SourceRecord], list[BatchOutcome]]:
    """The records written and their outcomes: the run, less what was revoked between
    two attempts (the new owner writes that)."""
    if not records:
        return [], []
    # faust acks a taken batch even if the agent's body raises, so a sink failure must
    # not escape: retry the same batch until the sinks are back, holding the
    # offsets meanwhile (PostgreSQL's positions are the truth; Kafka's follow). Parts
    # committed before an outage are skipped by their positions on the retry.
    metrics = resources.metrics
    # Splitting stops at 80% of the bound: the rest is for the writes that dead-letter
    # what still fails and commit what follows it.
    split_for_s = 0.8 * resources.stream.poison_bound_s
    async for attempt in AsyncRetrying(wait=wait_exponential(multiplier=0.2, max=resources.stream.retry_max_wait_s),
                                       retry=retry_if_exception_type(Exception), reraise=True):
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                records = [r for r in records if held(r)]
                if not records:
                    return [], []
                log.warning("sink retry %d", attempt.retry_state.attempt_number)
            started = time.perf_counter()
            try:
                opened = await resources.sinks()
                writer = _SinkWriter(opened.sink, opened.meters, datetime.now(timezone.utc), metrics,
                                     resources.writing)
                with _no_cyclic_gc():
                    outcomes = await write_isolating(writer, records,
                                                     lambda: time.perf_counter() - started > split_for_s)
            except Exception:
                metrics.sink_failures.inc()
                log.exception("sink write failed; retrying the batch")
                raise
            metrics.sink_latency.observe(time.perf_counter() - started)
    return records, outcomes


def _trace_header(headers) -> bytes | None:
    pairs = headers.items() if isinstance(headers, dict) else (headers or ())
    for name, value in pairs:
        if name == TRACE_HEADER:
            return value
    return None


def _log_batch(outcome: BatchOutcome, run: list[SourceRecord], generation: int | None) -> None:
    """One line per batch written (its trace ids, the partitions of its run and the
    consumer generation that delivered them), and one per new event of a sampled trace
    (meterline/tracing.py says why not one per event)."""
    traces = sorted(outcome.trace_ids)
    log.info("batch written to the sinks", extra={
        "partitions": sorted({r.partition for r in run}), "generation": generation,
        "records": outcome.records, "events": outcome.received, "new": outcome.new,
        "duplicates": outcome.duplicates, "dead_letters": len(outcome.dead_letters),
        "trace_ids": traces[:_TRACE_IDS_LOGGED], "trace_id_count": len(traces)})
    for tenant_id, event_id, trace_id in outcome.trail:
        trail.info("event written to the sinks", extra={"tenant_id": tenant_id, "event_id": event_id,
                                                         "trace_id": trace_id})


def _count(metrics: StreamMetrics, outcome: BatchOutcome) -> None:
    metrics.records.inc(outcome.records - outcome.replayed_records)
    metrics.records_replayed.inc(outcome.replayed_records)
    metrics.events.inc(outcome.new)
    metrics.duplicates.inc(outcome.duplicates)
    metrics.duplicate_conflicts.inc(outcome.conflicts)
    metrics.dead_letters.inc(len(outcome.dead_letters))
    metrics.corrections.inc(outcome.corrections)
