"""The compiled path (validate_json_fast) accepts exactly what the generic path accepts, with the same bytes.

Whatever it cannot vouch for it hands back (None) so that the generic path answers,
with every bad event's index, field and reason.
"""

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest.errors import IngestError
from ingest.schemas import Limits, parse_body, validate_events
from ingest.schemas_fast import validate_json_fast

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LIMITS = Limits(max_events=10, max_data_bytes=64, max_id_length=8, max_string_length=16,
                max_age=timedelta(days=35), max_future=timedelta(minutes=5))
BATCH = "application/cloudevents-batch+json"


def ev(i, **extra):
    return {"id": f"e{i}", "source": "s", "type": "t", "subject": f"u{i % 3}", "data": {"n": i, "m": "x"}, **extra}


def generic(body: bytes, content_type: str = BATCH):
    return validate_events(parse_body(body, content_type, LIMITS.max_events), NOW, LIMITS)


@pytest.mark.parametrize("body", [
    orjson.dumps([ev(i) for i in range(10)]),
    orjson.dumps(ev(1)),
    orjson.dumps([ev(1), ev(2), ev(1)]),  # a duplicate id
    orjson.dumps([ev(1, time="2026-03-01T13:00:00+02:00"), ev(2, time="2026-03-01t11:00:00.5z")]),
    orjson.dumps([ev(1, specversion="1.0", tenant_id="someone-else", extension="x")]),  # extras dropped
    orjson.dumps([ev(1, data=None), {"id": "e2", "source": "s", "type": "t", "subject": "u"}]),  # data {}
    orjson.dumps([ev(1, data={"name": "Zoë ✓", "nested": {"a": [1, 2.5, True, None]}})]),
    b'[{"id":"e1","source":"s","type":"t","subject":"u","data":{"big":12345678901234567890123}}]',  # a float
    orjson.dumps([ev(1, data={"e": 1.5e10})]),
    orjson.dumps([ev(1, id="éééééééé", subject="ü" * 8, source="✓" * 16)]),  # limits count characters
], ids=["batch", "single", "duplicate", "times", "extras", "no-data", "unicode-nested", "big-int", "exponent", "non-ascii-at-limits"])
def test_valid_bodies_give_the_generic_paths_result(body):
    fast = validate_json_fast(body, BATCH, NOW, LIMITS)
    assert fast is not None
    expected = generic(body)
    assert [orjson.loads(p) for p in fast.payloads] == [orjson.loads(p) for p in expected.payloads]
    assert (fast.subjects, fast.duplicates, fast.received_at, fast.types) == (
        expected.subjects, expected.duplicates, expected.received_at, expected.types)


def test_data_travels_as_sent_and_stays_valid_json():
    body = b'[{"id":"e1","source":"s","type":"t","subject":"u","data": {"n": 1,  "m": "x"} }]'
    fast = validate_json_fast(body, None, NOW, LIMITS)
    assert fast.payloads == [b'{"id":"e1","source":"s","type":"t","subject":"u",'
                             b'"time":"2026-03-01T12:00:00Z","data":{"n": 1,  "m": "x"}}']
    assert orjson.loads(fast.payloads[0])["data"] == {"n": 1, "m": "x"}


@pytest.mark.parametrize("body", [
    orjson.dumps([ev(1), ev(2, id=None)]),  # missing id
    orjson.dumps([ev(1, id=7)]),  # mistyped
    orjson.dumps([ev(1, id="")]),
    orjson.dumps([ev(1, id="much-too-long")]),
    orjson.dumps([ev(1, source="s" * 17)]),
    orjson.dumps([ev(1, specversion="0.3")]),
    orjson.dumps([ev(1, specversion=None)]),  # the generic path accepts it: it decides
    orjson.dumps([ev(1, time="yesterday")]),
    orjson.dumps([ev(1, time="2025-01-01T00:00:00Z")]),  # too old
    orjson.dumps([ev(1, data=[1, 2])]),
    orjson.dumps([ev(1, data="x")]),
    orjson.dumps([ev(1, data={"blob": "x" * 80})]),  # over max_data_bytes
    b'[{"id":"e1","source":"s","type":"t","subject":"u","data":{"n":1e400}}]',  # orjson refuses it
    b'[{"id":"e1","source":"s","type":"t","subject":"u","data":{"n":' + b"9" * 400 + b"}}]",
    b'[{"id":"e1","source":"s","type":"t","subject":"u","data":{"n":"\xff"}}]',  # not UTF-8
    b'[{"id":"e1","source":"s","type":"t","subject":"u","data":{"n":1,}}]',  # malformed
    orjson.dumps([ev(i) for i in range(11)]),  # too many events
    b"[]",
    b"7",
    b"not json",
], ids=["missing", "mistyped", "empty", "long-id", "long-source", "specversion", "specversion-null", "bad-time",
        "old-time", "data-array", "data-string", "data-too-big", "overflow-exponent", "overflow-digits",
        "bad-utf8", "trailing-comma", "too-many", "empty-batch", "scalar", "garbage"])
def test_anything_doubtful_goes_to_the_generic_path(body):
    assert validate_json_fast(body, BATCH, NOW, LIMITS) is None


def test_the_generic_path_still_names_each_bad_event():
    body = orjson.dumps([ev(0), ev(1, id=None), ev(2, data=[1])])
    assert validate_json_fast(body, BATCH, NOW, LIMITS) is None
    with pytest.raises(IngestError) as caught:
        generic(body)
    assert [(d.index, d.field) for d in caught.value.details] == [(1, "id"), (2, "data")]


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "text/plain"])
def test_other_media_types_go_to_the_generic_path(content_type):
    assert validate_json_fast(orjson.dumps(ev(1)), content_type, NOW, LIMITS) is None
