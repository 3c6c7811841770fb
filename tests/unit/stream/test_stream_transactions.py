"""stream.transactions.bounded_runs: a take cut into transactions of bounded events and bytes."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import orjson

from stream.sinks.postgres import SourceRecord
from stream.transactions import bounded_runs

TENANT = uuid.UUID(int=7)
AT = datetime(2026, 3, 1, tzinfo=timezone.utc)


def record(offset: int, events: int, partition: int = 0) -> SourceRecord:
    value = orjson.dumps({"tenant_id": str(TENANT), "received_at": "x", "events": [
        {"id": f"{offset}-{i}", "type": "t", "subject": "s", "time": "2026-03-01T00:00:00Z", "data": {}}
        for i in range(events)]})
    return SourceRecord("events", partition, offset, AT, value)


def test_runs_stay_within_the_event_bound_and_keep_offset_order():
    records = [record(o, n) for o, n in enumerate([3, 4, 2, 5, 1, 1, 6])]
    runs = list(bounded_runs(records, max_events=7, max_bytes=1 << 20))
    assert [[r.offset for r in run] for run in runs] == [[0, 1], [2, 3], [4, 5], [6]]
    assert all(sum(len(r.events) for r in run) <= 7 for run in runs)
    # Decoded once, here: the sink reads each record's events instead of decoding again.
    assert [e.id for e in runs[0][1].events] == [f"1-{i}" for i in range(4)]
    assert all(r.advances and r.refusal is None for run in runs for r in run)


def test_runs_stay_within_the_byte_bound():
    records = [record(o, 2) for o in range(5)]
    size = len(records[0].value)
    runs = list(bounded_runs(records, max_events=1_000, max_bytes=2 * size + 1))
    assert [len(run) for run in runs] == [2, 2, 1]
    assert all(sum(len(r.value) for r in run) <= 2 * size + 1 for run in runs)


def test_a_record_beyond_the_bounds_is_a_run_of_its_own():
    records = [record(0, 1), record(1, 9), record(2, 1)]
    runs = list(bounded_runs(records, max_events=4, max_bytes=1 << 20))
    assert [[r.offset for r in run] for run in runs] == [[0], [1], [2]]


def test_an_undecodable_record_is_passed_on_for_the_sink_to_dead_letter():
    bad = SourceRecord("events", 0, 1, AT, b"not json")
    runs = list(bounded_runs([record(0, 2), bad, record(2, 2)], max_events=10, max_bytes=1 << 20))
    assert [[r.offset for r in run] for run in runs] == [[0, 1, 2]]
    assert runs[0][1].events is None and runs[0][1].value == b"not json"


def test_runs_are_decoded_lazily():
    decoded = []

    def records():
        for o in range(4):
            decoded.append(o)
            yield record(o, 5)

    runs = bounded_runs(records(), max_events=5, max_bytes=1 << 20)
    first = next(runs)
    assert [r.offset for r in first] == [0] and decoded == [0, 1]  # one record ahead, no more
