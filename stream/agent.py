"""The agent: each batch of the events topic, written to the sinks until it succeeds."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from datetime import datetime, timezone

import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from .metrics import StreamMetrics
from .resources import WorkerResources
from .sinks.postgres import BatchOutcome, SourceRecord

__all__ = ["register_agent"]

log = logging.getLogger("meterline.stream")


@contextlib.contextmanager
def _no_cyclic_gc():
    """No cyclic garbage collection while a batch is written. A catch-up batch holds
    hundreds of thousands of live objects (events, windows, rows), all freed by reference
    counting, and each full collection walks them all: it cost a third of decoding and
    aggregating. Collections resume between batches, so cycles are still reclaimed."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def register_agent(app, resources: WorkerResources, events_topic, dead_letter_topic) -> None:
    config = resources.stream

    @app.agent(events_topic)
    async def count_usage(stream):
        async for batch in stream.take_events(config.batch_size, within=config.batch_window_s):
            records = [SourceRecord(e.message.topic, e.message.partition, e.message.offset,
                                    datetime.fromtimestamp(e.message.timestamp, timezone.utc), e.value)
                       for e in batch]
            outcome = await _write_until_done(resources, records)
            _count(resources.metrics, outcome)
            # After the commit: the tenant table has them already; the topic is a feed.
            for dead in outcome.dead_letters:
                await dead_letter_topic.send(value=orjson.dumps(dead))


async def _write_until_done(resources: WorkerResources, records: list[SourceRecord]) -> BatchOutcome:
    # faust acks a taken batch even if the agent's body raises, so a sink failure must
    # not escape: retry the same batch until the sinks are back, holding the
    # offsets meanwhile (PostgreSQL's positions are the truth; Kafka's follow).
    metrics = resources.metrics
    async for attempt in AsyncRetrying(wait=wait_exponential(multiplier=0.2, max=resources.stream.retry_max_wait_s),
                                       retry=retry_if_exception_type(Exception), reraise=True):
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                log.warning("sink retry %d", attempt.retry_state.attempt_number)
            started = time.perf_counter()
            try:
                opened = await resources.sinks()
                async with resources.writing:
                    with _no_cyclic_gc():
                        outcome = await opened.sink.write(records, opened.meters, datetime.now(timezone.utc))
            except Exception:
                metrics.sink_failures.inc()
                log.exception("sink write failed; retrying the batch")
                raise
            metrics.sink_latency.observe(time.perf_counter() - started)
    return outcome


def _count(metrics: StreamMetrics, outcome: BatchOutcome) -> None:
    metrics.records.inc(outcome.records - outcome.replayed_records)
    metrics.records_replayed.inc(outcome.replayed_records)
    metrics.events.inc(outcome.new)
    metrics.duplicates.inc(outcome.duplicates)
    metrics.dead_letters.inc(len(outcome.dead_letters))
    metrics.corrections.inc(outcome.corrections)
