"""A record's trace runs follow its events when isolation splits it (stream/isolation.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import orjson

from meterline.tracing import Trace, TraceRun, event_traces
from stream.sinks.postgres import SourceRecord, split_record


def test_each_piece_of_a_split_record_keeps_its_events_traces():
    tenant = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    events = [{"id": f"e{i}", "source": "s", "type": "t", "subject": "x", "time": now.isoformat(), "data": {}}
              for i in range(5)]
    record = SourceRecord("events", 0, 7, now, orjson.dumps({"tenant_id": tenant, "received_at": now.isoformat(),
                                                             "events": events}),
                          traces=(TraceRun("a", 3, True), TraceRun("b", 2, False)))
    first, second = split_record(record)
    traced = {e.id: trace for piece in (first, second)
              for e, trace in zip(piece.events, event_traces(piece.traces, len(piece.events)))}
    assert traced == {"e0": Trace("a", True), "e1": Trace("a", True), "e2": Trace("a", True),
                      "e3": Trace("b", False), "e4": Trace("b", False)}
