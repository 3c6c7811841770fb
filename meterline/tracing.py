"""Trace ids: taken from a request or made for it, carried with its events through Kafka.

A request's trace id is the trace-id of its W3C `traceparent` header, else its
`X-Request-ID` (when short and printable), else a new one; ingest answers it in
`X-Request-ID`. Whether the request is *sampled* (traceparent's flag 01, or ingest's
`trace_all_events`) decides whether each of its events is logged by id at ingest and
again when the stream writes it to the sinks (the "trail", logger `meterline.trail`):
one line per event at 30,000 events/s would be ~5 GB of logs a day, so callers choose
which requests to follow. Every request's trace id still reaches the stream, whose
per-batch line lists the batch's trace ids.

A Kafka record packs events of several requests (ingest.coalescing), contiguous per
request, so its `meterline-traces` header holds runs: [[trace id, event count, sampled], ...]
in the order of the record's events.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import NamedTuple

import orjson

__all__ = ["TRACE_HEADER", "TRACE_ID", "Trace", "TraceRun", "decode_runs", "encode_runs", "event_traces",
           "slice_runs", "trace_from_headers"]

TRACE_HEADER = "meterline-traces"
# The trace id of the work in progress (a request, a batch): every log line carries it.
TRACE_ID: ContextVar[str | None] = ContextVar("meterline_trace_id", default=None)

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class Trace(NamedTuple):
    trace_id: str
    sampled: bool


class TraceRun(NamedTuple):
    trace_id: str
    count: int
    sampled: bool


def trace_from_headers(traceparent: str | None, request_id: str | None, sample_all: bool = False) -> Trace:
    if traceparent:
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return Trace(match.group(1), sample_all or bool(int(match.group(2), 16) & 1))
    if request_id and _REQUEST_ID.match(request_id.strip()):
        return Trace(request_id.strip(), sample_all)
    # Not uuid4: its os.urandom call cost ~10 us per ingest request; a trace id needs to be
    # unique, not unpredictable.
    return Trace(f"{random.getrandbits(128):032x}", sample_all)


def encode_runs(runs: Sequence[Sequence]) -> bytes:
    return orjson.dumps([[trace_id, count, 1 if sampled else 0] for trace_id, count, sampled in runs])


def decode_runs(header: bytes | None) -> tuple[TraceRun, ...]:
    """The runs of a record's header; none for a record without one or with one unreadable
    (a trace is for logs only: it never refuses an event)."""
    if not header:
        return ()
    try:
        return tuple(TraceRun(str(t), int(n), bool(s)) for t, n, s in orjson.loads(header))
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return ()


def event_traces(runs: Sequence[TraceRun], events: int) -> Iterator[Trace | None]:
    """Each event's trace, in order; None past what the runs cover."""
    given = 0
    for run in runs:
        for _ in range(run.count):
            if given == events:
                return
            given += 1
            yield Trace(run.trace_id, run.sampled)
    for _ in range(events - given):
        yield None


def slice_runs(runs: Sequence[TraceRun], start: int, stop: int) -> tuple[TraceRun, ...]:
    """The runs of events [start, stop) (a record split in pieces: stream/isolation.py)."""
    sliced, position = [], 0
    for run in runs:
        low, high = max(start, position), min(stop, position + run.count)
        if low < high:
            sliced.append(TraceRun(run.trace_id, high - low, run.sampled))
        position += run.count
    return tuple(sliced)
