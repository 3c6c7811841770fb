from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest.errors import IngestError
from ingest.packing import pack_events
from ingest.schemas import Limits, parse_body, validate_events

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LIMITS = Limits(max_events=10, max_data_bytes=64, max_id_length=8, max_string_length=16,
                max_age=timedelta(days=35), max_future=timedelta(minutes=5))


def ev(i, **extra):
    return {"id": f"e{i}", "source": "s", "type": "t", "subject": "u", "data": {"n": i}, **extra}


@pytest.mark.parametrize(("body", "ctype", "count"), [
    (orjson.dumps(ev(1)), "application/json", 1),
    (orjson.dumps(ev(1)), "application/cloudevents+json; charset=utf-8", 1),
    (orjson.dumps([ev(1), ev(2)]), "application/cloudevents-batch+json", 2),
    (orjson.dumps([ev(1)]), None, 1),
    (b"\n" + orjson.dumps(ev(1)) + b"\n\n" + orjson.dumps(ev(2)), "application/x-ndjson", 2),
], ids=["single", "single-ce", "batch", "no-content-type", "ndjson-blank-lines"])
def test_parse_body(body, ctype, count):
    assert len(parse_body(body, ctype, 10)) == count


@pytest.mark.parametrize(("time", "expected"), [
    ("2026-03-01T13:00:00+02:00", "2026-03-01T11:00:00Z"),
    ("2026-03-01T11:00:00.5Z", "2026-03-01T11:00:00.500000Z"),
    ("2026-03-01t11:00:00z", "2026-03-01T11:00:00Z"),
    ("2026-01-25T12:00:01Z", "2026-01-25T12:00:01Z"),  # just inside 35 days
    (None, "2026-03-01T12:00:00Z"),  # receipt time
], ids=["offset", "fraction", "lowercase", "oldest", "absent"])
def test_time_is_normalised_to_utc(time, expected):
    event = ev(1) if time is None else ev(1, time=time)
    result = validate_events([event], NOW, LIMITS)
    assert orjson.loads(result.payloads[0])["time"] == expected


@pytest.mark.parametrize(("change", "field"), [
    ({"time": "2026-01-25T11:59:59Z"}, "time"),
    ({"time": "2026-03-01T12:05:01Z"}, "time"),
    ({"time": "2026-03-01"}, "time"),
    ({"time": "2026-W09-7T12:00:00Z"}, "time"),
    ({"time": "2026-02-30T12:00:00Z"}, "time"),
    ({"id": "123456789"}, "id"),
    ({"source": "x" * 17}, "source"),
    ({"data": {"x": "y" * 64}}, "data"),
    ({"data": "text"}, "data"),
    ({"specversion": "1.1"}, "specversion"),
], ids=["too-old", "too-new", "date-only", "week-date", "no-such-day", "id-long", "source-long", "data-big",
        "data-string", "specversion"])
def test_invalid_event_names_field(change, field):
    with pytest.raises(IngestError) as caught:
        validate_events([ev(0), {**ev(1), **change}], NOW, LIMITS)
    assert caught.value.status == 422
    assert [(d.index, d.field) for d in caught.value.details] == [(1, field)]


def test_duplicates_and_unknown_attributes():
    result = validate_events([ev(1, tenant_id="other"), ev(2), ev(1)], NOW, LIMITS)
    assert result.duplicates == 1
    payloads = [orjson.loads(p) for p in result.payloads]
    assert [p["id"] for p in payloads] == ["e1", "e2"]
    assert set(payloads[0]) == {"id", "source", "type", "subject", "time", "data"}


def _partitions(mapping: dict[bytes, int]):
    return mapping.__getitem__


def test_packs_group_by_subject_and_split():
    events = validate_events([ev(i, subject=f"u{i % 2}") for i in range(7)], NOW, LIMITS)
    records = pack_events("tid", "2026-03-01T12:00:00Z", events.subjects, events.payloads, max_events=2,
                          max_bytes=10_000,
                          partition_of=_partitions({b"tid:u0": 0, b"tid:u1": 1}))
    decoded = [(r.key, r.partition, orjson.loads(r.value)) for r in records]
    assert [(k, n, [e["id"] for e in p["events"]]) for k, n, p in decoded] == [
        (b"tid:u0", 0, ["e0", "e2"]), (b"tid:u0", 0, ["e4", "e6"]),
        (b"tid:u1", 1, ["e1", "e3"]), (b"tid:u1", 1, ["e5"])]
    assert all(p["tenant_id"] == "tid" and p["received_at"] == "2026-03-01T12:00:00Z" for _, _, p in decoded)
    assert [r.events for r in records] == [2, 2, 2, 1]


def test_subjects_of_one_partition_share_a_pack_in_request_order():
    subjects = ["a", "b", "c", "a", "b", "d"]
    events = validate_events([ev(i, subject=s) for i, s in enumerate(subjects)], NOW, LIMITS)
    records = pack_events("tid", "x", events.subjects, events.payloads, max_events=500, max_bytes=10_000,
                          partition_of=_partitions({b"tid:a": 2, b"tid:b": 0, b"tid:c": 2, b"tid:d": 0}))
    decoded = [(r.key, r.partition, [(e["id"], e["subject"]) for e in orjson.loads(r.value)["events"]])
               for r in records]
    # The key is one of the pack's own subjects, so it hashes to the record's partition.
    assert decoded == [
        (b"tid:a", 2, [("e0", "a"), ("e2", "c"), ("e3", "a")]),
        (b"tid:b", 0, [("e1", "b"), ("e4", "b"), ("e5", "d")]),
    ]


def test_packs_split_by_bytes():
    events = validate_events([ev(i) for i in range(6)], NOW, LIMITS)
    size = len(events.payloads[0])
    records = pack_events("tid", "x", events.subjects, events.payloads, max_events=500, max_bytes=2 * size + 2,
                          partition_of=lambda key: 0)
    assert [r.events for r in records] == [2, 2, 2]
