"""Only what every store can hold is accepted: control characters, nesting, meter values (ingest.storable).

Both validation paths must agree: the generic one names each refused event (index, field,
reason); the compiled one never accepts what the generic one refuses.
"""

import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest.errors import IngestError
from ingest.schemas import Limits, parse_body, validate_events
from ingest.schemas_fast import validate_json_fast
from ingest.storable import TypeRules, ValueRule, meter_errors, rules_of

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LIMITS = Limits(max_events=10, max_data_bytes=64 * 1024, max_id_length=64, max_string_length=64,
                max_age=timedelta(days=35), max_future=timedelta(minutes=5), max_json_depth=32)
BATCH = "application/json"
# (event_type, aggregation, value_path, group_by, allow_negative), as the meter table holds them
METERS = rules_of([
    ("llm", "SUM", "tokens", ("region",), False),
    ("llm", "COUNT", None, ("model",), False),
    ("refund", "SUM", "amount", (), True),
    ("gauge", "LATEST", "level", (), True),
    ("gauge", "MAX", "level", (), False),  # the same path: negatives only if every meter allows them
    ("seen", "UNIQUE_COUNT", "user", (), False),
    ("deep", "SUM", "usage.tokens", (), False),
])


def ev(**changes) -> dict:
    event = {"specversion": "1.0", "id": "e1", "source": "s", "type": "llm", "subject": "u",
             "data": {"tokens": 5, "region": "eu", "model": "m"}}
    event.update(changes)
    return event


def nested(depth: int) -> dict:
    """``data`` nesting ``depth`` levels (``data`` itself is level 1)."""
    node: dict = {"leaf": 1}
    for _ in range(depth - 1):
        node = {"a": node}
    return node


def bodies(events: list[dict]) -> list[bytes]:
    """The events as json (escaping as many clients do: \\u0000, \\u00e9) and as orjson writes them (raw UTF-8)."""
    encoded = [json.dumps(events).encode()]
    try:
        encoded.append(orjson.dumps(events))
    except TypeError:  # nested deeper than orjson writes
        pass
    return encoded


def refusal(events: list[dict], meters=METERS) -> list[tuple[int, str, str]]:
    with pytest.raises(IngestError) as caught:
        validate_events(events, NOW, LIMITS, meters)
    assert caught.value.status == 422
    return [(d.index, d.field, d.reason) for d in caught.value.details]


REFUSED = [
    ("nul-id", ev(id="nul\x00id"), "id", "U+0000"),
    ("nul-subject", ev(subject="a\x00"), "subject", "U+0000"),
    ("nul-type", ev(type="llm\x00"), "type", "U+0000"),
    ("nul-source", ev(source="\x00"), "source", "U+0000"),
    ("tab-in-id", ev(id="a\tb"), "id", "U+0009"),
    ("newline-in-subject", ev(subject="u\n"), "subject", "U+000A"),
    ("del-in-type", ev(type="t\x7f"), "type", "U+007F"),
    ("c1-in-source", ev(source="s\x85"), "source", "U+0085"),
    ("nul-in-data", ev(data={"note": "a\x00b"}), "data.note", "U+0000"),
    ("control-in-nested-data", ev(data={"a": {"b": "\x1b[31m"}}), "data.a.b", "U+001B"),
    ("control-in-list", ev(data={"tags": ["ok", "x\x01"]}), "data.tags[1]", "U+0001"),
    ("control-in-key", ev(data={"k\x00": 1}), "data", "U+0000"),
    ("c1-in-data", ev(data={"note": "\x9f"}), "data.note", "U+009F"),
    ("newline-in-group-by", ev(data={"tokens": 1, "region": "eu\n"}), "data.region", "U+000A"),
    ("tab-in-count-meter-group-by", ev(data={"tokens": 1, "model": "m\t"}), "data.model", "U+0009"),
    ("newline-in-unique-value", ev(type="seen", data={"user": "a\r"}), "data.user", "U+000D"),
    ("too-deep", ev(type="x", data=nested(33)), "data", "more than 32 levels"),
    ("deeper-than-orjson-writes", ev(type="x", data=nested(300)), "data", "more than 32 levels"),
    ("deep-list", ev(type="x", data={"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}),
     "data", "more than 32 levels"),
    ("1e40", ev(data={"tokens": 1e40}), "data.tokens", "range"),
    ("just-over", ev(data={"tokens": 10**15 + 1}), "data.tokens", "range"),
    ("huge-int", ev(data={"tokens": 10**30}), "data.tokens", "range"),
    ("big-negative", ev(type="refund", data={"amount": -(10**16)}), "data.amount", "range"),
    ("numeric-string", ev(data={"tokens": "1e40"}), "data.tokens", "range"),
    ("ten-places", ev(data={"tokens": 1.0000000001}), "data.tokens", "9 decimal places"),
    ("tiny", ev(data={"tokens": 1e-10}), "data.tokens", "9 decimal places"),
    ("nan-string", ev(data={"tokens": "NaN"}), "data.tokens", "finite"),
    ("infinity-string", ev(data={"tokens": "-Infinity"}), "data.tokens", "finite"),
    ("negative", ev(data={"tokens": -1}), "data.tokens", "negative"),
    ("negative-float", ev(data={"tokens": -0.5}), "data.tokens", "negative"),
    ("negative-string", ev(data={"tokens": "-3"}), "data.tokens", "negative"),
    ("negative-one-meter-refuses", ev(type="gauge", data={"level": -1}), "data.level", "negative"),
    ("negative-nested-path", ev(type="deep", data={"usage": {"tokens": -2}}), "data.usage.tokens", "negative"),
]


@pytest.mark.parametrize(("event", "field", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_with_index_field_and_reason(event, field, reason):
    [(index, got_field, got_reason)] = refusal([ev(id="e0"), event])
    assert (index, got_field) == (1, field)
    assert reason in got_reason
    # The compiled path never accepts it: it hands the request to the generic path.
    # Whatever the encoder: json escapes every control and non-ASCII character, orjson writes DEL,
    # C1 and non-ASCII raw (and at most 255 levels).
    for body in bodies([ev(id="e0"), event]):
        assert validate_json_fast(body, BATCH, NOW, LIMITS, METERS) is None


ACCEPTED = [
    ("plain", ev()),
    ("tab-newline-cr-in-free-data", ev(data={"tokens": 1, "note": "line 1\n\tline 2\r\n"})),
    ("unicode", ev(subject="Zoë ✓ 日本", data={"tokens": 1, "region": "zürich", "s": "\u00a0\u2028"})),
    ("escaped-backslash-n", ev(data={"tokens": 1, "path": "C:\\new"})),  # looks like \n in JSON, is not
    ("exactly-the-bound", ev(data={"tokens": 10**15})),
    ("exactly-minus-the-bound", ev(type="refund", data={"amount": -(10**15)})),
    ("nine-places", ev(data={"tokens": 1.123456789})),
    ("trailing-zeros", ev(data={"tokens": "1.50000000000000"})),
    ("negative-allowed", ev(type="refund", data={"amount": -12.5})),
    ("negative-on-count-meter-type", ev(type="other", data={"tokens": -1})),  # no meter reads it
    ("missing-value", ev(data={"region": "eu"})),  # the stream dead-letters it, with its reason
    ("not-a-number", ev(data={"tokens": "lots"})),
    ("bool-value", ev(data={"tokens": True})),
    ("group-by-number", ev(data={"tokens": 1, "region": 7})),
    ("depth-32", ev(type="x", data=nested(32))),
    ("values-of-a-type-no-meter-reads", ev(type="x", data={"tokens": -1e40})),
]


@pytest.mark.parametrize("event", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_accepted_and_both_paths_agree(event):
    for body in bodies([event]):
        generic = validate_events(parse_body(body, BATCH, LIMITS.max_events), NOW, LIMITS, METERS)
        fast = validate_json_fast(body, BATCH, NOW, LIMITS, METERS)
        assert len(generic.payloads) == 1
        if fast is not None:  # it may hand over what it cannot vouch for, never answer differently
            assert [orjson.loads(p) for p in fast.payloads] == [orjson.loads(p) for p in generic.payloads]


def test_the_compiled_path_accepts_the_common_cases_itself():
    for name in ("plain", "tab-newline-cr-in-free-data", "unicode", "exactly-the-bound", "negative-allowed",
                 "depth-32"):
        event = dict(ACCEPTED)[name]
        assert all(validate_json_fast(body, BATCH, NOW, LIMITS, METERS) is not None for body in bodies([event])), name


def test_escaped_controls_are_seen_whatever_the_encoder():
    # json.dumps-style \u escapes, as many clients send them, and a C1 character sent raw.
    body = b'[{"id":"e\\u0000","source":"s","type":"x","subject":"u"}]'
    assert validate_json_fast(body, BATCH, NOW, LIMITS, METERS) is None
    assert refusal(parse_body(body, BATCH, 10)) == [(0, "id", refusal(parse_body(body, BATCH, 10))[0][2])]
    raw_c1 = '[{"id":"e","source":"s","type":"x","subject":"u","data":{"v":"\x85"}}]'.encode()
    assert validate_json_fast(raw_c1, BATCH, NOW, LIMITS, METERS) is None
    assert [f for _, f, _ in refusal(parse_body(raw_c1, BATCH, 10))] == ["data.v"]


def test_every_refused_field_of_every_event_is_named():
    details = refusal([ev(id="a\x00"), ev(id="ok"), ev(id="b", subject="\x01", data={"tokens": -1, "region": "\n"})])
    assert [(i, f) for i, f, _ in details] == [(0, "id"), (2, "subject")]  # envelope errors first, per event
    details = refusal([ev(id="b", data={"tokens": -1, "region": "\n"})])
    assert [(i, f) for i, f, _ in details] == [(0, "data.tokens"), (0, "data.region")]


@pytest.mark.parametrize("depth", [5_000, 1_100, 600])
def test_nesting_deeper_than_any_parser_is_a_422(depth):
    data = '{"a":' * depth + "1" + "}" * depth
    body = ('[{"id":"e","source":"s","type":"x","subject":"u","data":' + data + "}]").encode()
    assert validate_json_fast(body, BATCH, NOW, LIMITS, METERS) is None
    with pytest.raises(IngestError) as caught:
        validate_events(parse_body(body, BATCH, 10), NOW, LIMITS, METERS)
    assert caught.value.status == 422
    assert any("deep" in d.reason for d in caught.value.details)


def test_ndjson_lines_nested_too_deep_are_named():
    line = ('{"id":"e","source":"s","type":"x","subject":"u","data":' + '{"a":' * 2000 + "1" + "}" * 2001).encode()
    with pytest.raises(IngestError) as caught:
        parse_body(orjson.dumps(ev()) + b"\n" + line, "application/x-ndjson", 10)
    [detail] = caught.value.details
    assert (caught.value.status, detail.index) == (422, 1) and "deep" in detail.reason


def test_rules_combine_meters_of_one_type():
    assert METERS["gauge"] == TypeRules((ValueRule("level", ("level",), False),), ())
    assert METERS["refund"].values[0].allow_negative is True
    assert {p for p, _ in METERS["llm"].labels} == {"region", "model"}
    assert "other" not in METERS
    assert rules_of([("t", "COUNT", None, (), False)]) == {}


def test_labels_are_checked_only_when_asked():
    rules = METERS["llm"]
    assert meter_errors(0, {"tokens": 1, "region": "\n"}, rules, check_labels=False) == []
    assert [e.field for e in meter_errors(0, {"tokens": 1, "region": "\n"}, rules)] == ["data.region"]
