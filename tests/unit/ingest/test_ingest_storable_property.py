"""Generated events from the whole input domain: validation accepts or answers 422, nothing else.

Whatever a tenant sends (any JSON in any field, any character, any nesting, any number),
the pure validators either accept the events or raise IngestError 422 naming index,
field and reason; what they accept the stores can hold; the compiled path never
accepts what the generic path refuses, and never answers differently.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import IngestError
from ingest.schemas import Limits, parse_body, validate_events
from ingest.schemas_fast import validate_json_fast
from ingest.storable import MAX_ABS_VALUE, rules_of

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LIMITS = Limits(max_events=20, max_data_bytes=4096, max_id_length=32, max_string_length=32,
                max_age=timedelta(days=35), max_future=timedelta(minutes=5), max_json_depth=8)
METERS = rules_of([("t", "SUM", "v", ("g",), False), ("t", "MAX", "w.x", (), True),
                   ("u", "UNIQUE_COUNT", "v", (), False), ("u", "LATEST", "n", ("g",), True)])

def mostly(usual, other):
    """``usual`` four times in five (one_of weighs its branches alike, repeated ones too)."""
    return st.integers(0, 4).flatmap(lambda i: usual if i else other)


# Every code point but lone surrogates (JSON text cannot carry those as UTF-8), controls favoured.
characters = st.one_of(st.characters(codec="utf-8"), st.characters(min_codepoint=0, max_codepoint=0x9F))
texts = st.one_of(st.text(characters, max_size=12), st.sampled_from(["t", "u", "g", "v", "n", "w", "x"]))
numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=12).map(str),  # numeric strings
    st.sampled_from([10**15, -(10**15), 10**15 + 1, "1e40", "NaN", "-Infinity", 1e-10, "0.000000001"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(texts, inner, max_size=3)), max_leaves=12)


def deep(depth: int) -> dict:
    node: dict = {"v": 1}
    for _ in range(depth):
        node = {"w": node}
    return node


datas = st.one_of(json_values, st.dictionaries(st.sampled_from(["v", "g", "n", "w"]), json_values),
                  st.integers(min_value=1, max_value=40).map(deep))
fields = {"id": texts, "source": texts, "type": st.sampled_from(["t", "u", "other"]) | texts, "subject": texts,
          "specversion": st.sampled_from(["1.0", "0.3"]) | json_values,
          "time": st.sampled_from(["2026-03-01T11:00:00Z", "2026-03-01T11:00:00+02:00", "yesterday"]) | json_values,
          "data": datas}
meter_data = st.fixed_dictionaries({"v": mostly(numbers, scalars)}, optional={
    "n": numbers, "g": texts | scalars, "w": st.fixed_dictionaries({"x": numbers}) | json_values})
plain = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)
envelope = mostly(plain, texts)
# Mostly well-formed events (so that some batches pass and their values and labels are
# looked at), then any shape at all.
well_formed = st.fixed_dictionaries(
    {"id": envelope, "source": envelope, "type": mostly(st.sampled_from(["t", "u", "other"]), texts),
     "subject": envelope, "data": mostly(meter_data, datas)},
    optional={"specversion": mostly(st.just("1.0"), json_values),
              "time": mostly(st.just("2026-03-01T11:00:00Z"), fields["time"])})
events = mostly(well_formed, st.fixed_dictionaries({}, optional=fields) | json_values)
CONTROL = {*range(0x20), *range(0x7F, 0xA0)}


def check_storable(payload: bytes) -> None:
    """An independent look at an accepted event: what the stores refuse is not in it."""
    event = orjson.loads(payload)
    for name in ("id", "source", "type", "subject"):
        assert not CONTROL & {ord(c) for c in event[name]}, (name, event[name])
    for path in ("v", "n") if event["type"] in ("t", "u") else ():
        value = event["data"].get(path)
        if path == "v" and event["type"] == "t" and isinstance(value, (int, float)) and not isinstance(value, bool):
            assert abs(Decimal(str(value))) <= MAX_ABS_VALUE and Decimal(str(value)) >= 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, min_size=1, max_size=3))
def test_validation_accepts_or_answers_422(batch):
    body = json.dumps(batch).encode()
    try:
        generic = validate_events(parse_body(body, "application/json", LIMITS.max_events), NOW, LIMITS, METERS)
    except IngestError as exc:
        assert exc.status == 422 and exc.details
        assert all(d.index is None or 0 <= d.index < len(batch) for d in exc.details)
        generic = None
    fast = validate_json_fast(body, "application/json", NOW, LIMITS, METERS)
    if generic is None:
        assert fast is None
        return
    for payload in generic.payloads:
        check_storable(payload)
    if fast is not None:
        assert [orjson.loads(p) for p in fast.payloads] == [orjson.loads(p) for p in generic.payloads]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, min_size=1, max_size=3))
def test_validation_of_any_python_values_accepts_or_answers_422(batch):
    # Values no JSON parser gives (integers beyond 64 bits among them): still 422 at worst.
    try:
        accepted = validate_events(batch, NOW, LIMITS, METERS)
    except IngestError as exc:
        assert exc.status == 422 and exc.details
        return
    for payload in accepted.payloads:
        check_storable(payload)
