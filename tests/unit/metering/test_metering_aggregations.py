"""Each aggregation class: adding values, merging windows, a period's total, late events,
and its SQL fragments. Expected values are written out by hand, not computed by metering."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from metering import (
    AGGREGATIONS, DELTA, RESTATE, UsageDelta, UsageEvent, UnknownAggregation, aggregation_for, combine_total,
    period_total,
)
from metering.aggregations import Aggregation

D = Decimal
T0 = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)


def ev(event_id: str, minutes: int = 0) -> UsageEvent:
    return UsageEvent(uuid.UUID(int=1), event_id, "t", "s", T0 + timedelta(minutes=minutes), {})


def window(name: str, values: list[tuple[str, int, str]]) -> UsageDelta:
    """A window from (value, minute, id) events, through the class's own `add`."""
    kind = aggregation_for(name)
    delta = UsageDelta()
    for value, minute, event_id in values:
        kind.add(delta, ev(event_id, minute), None if name == "COUNT" else (value if name == "UNIQUE_COUNT" else D(value)))
    return delta


# (name, events of one window, its stored quantity, what it reads as, events)
ADD = [
    ("COUNT", [("", 0, "a"), ("", 1, "b"), ("", 2, "c")], D(3), D(3), 3),
    ("SUM", [("1.5", 0, "a"), ("2.25", 1, "b")], D("3.75"), D("3.75"), 2),
    ("MAX", [("-3", 0, "a"), ("-1", 1, "b"), ("-2", 2, "c")], D(-1), D(-1), 3),
    ("MIN", [("3", 0, "a"), ("-1", 1, "b"), ("2", 2, "c")], D(-1), D(-1), 3),
    ("MIN", [("5", 0, "a")], D(5), D(5), 1),
    ("AVG", [("1", 0, "a"), ("2", 1, "b"), ("6", 2, "c")], D(9), D(3), 3),
    ("AVG", [("1", 0, "a"), ("2", 1, "b")], D(3), D("1.5"), 2),
    ("LATEST", [("7", 5, "a"), ("9", 1, "b"), ("8", 5, "c")], D(8), D(8), 3),
    ("UNIQUE_COUNT", [("x", 0, "a"), ("y", 1, "b"), ("x", 2, "c")], D(0), D(0), 3),
]


@pytest.mark.parametrize(("name", "events", "stored", "reads", "count"), ADD,
                         ids=["count", "sum", "max-negative", "min", "min-one", "avg", "avg-fraction",
                              "latest-by-time-then-id", "unique-keeps-values"])
def test_add(name, events, stored, reads, count):
    delta = window(name, events)
    assert (delta.quantity, delta.event_count) == (stored, count)
    assert aggregation_for(name).window_value(delta.quantity, delta.event_count) == reads


# (name, first window's events, second's, merged stored quantity, merged events)
MERGE = [
    ("COUNT", [("", 0, "a")], [("", 1, "b"), ("", 2, "c")], D(3), 3),
    ("SUM", [("1", 0, "a")], [("2.5", 1, "b")], D("3.5"), 2),
    ("MAX", [("4", 0, "a")], [("9", 1, "b")], D(9), 2),
    ("MIN", [("4", 0, "a")], [("9", 1, "b"), ("2", 2, "c")], D(2), 3),
    ("MIN", [("-4", 0, "a")], [("9", 1, "b")], D(-4), 2),
    ("AVG", [("4", 0, "a")], [("9", 1, "b"), ("2", 2, "c")], D(15), 3),
    ("LATEST", [("4", 9, "a")], [("9", 1, "b")], D(4), 2),
    ("LATEST", [("4", 1, "a")], [("9", 1, "b")], D(9), 2),
]


@pytest.mark.parametrize(("name", "first", "second", "quantity", "count"), MERGE,
                         ids=["count", "sum", "max", "min", "min-keeps-lower", "avg-keeps-sum-and-count",
                              "latest-later-time-wins", "latest-tie-by-id"])
def test_merge(name, first, second, quantity, count):
    target = window(name, first)
    aggregation_for(name).merge(target, window(name, second))
    assert (target.quantity, target.event_count) == (quantity, count)


def test_unique_merge_unions_values():
    target = window("UNIQUE_COUNT", [("x", 0, "a")])
    aggregation_for("UNIQUE_COUNT").merge(target, window("UNIQUE_COUNT", [("x", 1, "b"), ("y", 2, "c")]))
    assert (target.unique_values, target.event_count) == ({"x", "y"}, 3)


class Row:
    """A stored window, as usage_hourly and the readers give it."""

    def __init__(self, quantity: str, event_count: int = 1, latest_at: datetime | None = None,
                 latest_id: str | None = None) -> None:
        self.quantity, self.event_count, self.latest_at, self.latest_id = D(quantity), event_count, latest_at, latest_id


# (name, stored windows of a period, its total)
TOTALS = [
    ("COUNT", [Row("2", 2), Row("3", 3)], D(5)),
    ("SUM", [], D(0)),
    ("MAX", [Row("-5"), Row("-2"), Row("-9")], D(-2)),
    ("MIN", [Row("5"), Row("2"), Row("9")], D(2)),
    ("MIN", [Row("-1", 0), Row("3", 0)], D(-1)),
    ("MIN", [], D(0)),
    # The event-weighted mean: (10 + 2) / (4 + 2) = 2, not the mean of the means (2.5 and 1).
    ("AVG", [Row("10", 4), Row("2", 2)], D(2)),
    ("AVG", [Row("1", 3)], D(1) / 3),
    ("AVG", [], D(0)),
    ("LATEST", [Row("5", 1, T0 + timedelta(hours=1), "a"), Row("7", 1, T0, "z")], D(5)),
    ("UNIQUE_COUNT", [Row("0")], None),
]


@pytest.mark.parametrize(("name", "rows", "total"), TOTALS,
                         ids=["count", "empty-is-zero", "max", "min", "min-seeded-rows", "min-empty", "avg-weighted",
                              "avg-repeating", "avg-empty", "latest", "unique-not-combinable"])
def test_period_total(name, rows, total):
    assert period_total(name, rows) == total
    # The tuple form the stream's callers used: the same rule, not a copy of it.
    assert combine_total(name, [(r.quantity, r.latest_at, r.latest_id, r.event_count) for r in rows]) == total


@pytest.mark.parametrize(("name", "late", "billable", "needs_value"), [
    ("COUNT", DELTA, True, False),
    ("SUM", DELTA, True, True),
    ("MAX", RESTATE, True, True),
    ("MIN", RESTATE, True, True),
    ("AVG", RESTATE, True, True),
    ("LATEST", RESTATE, True, True),
    ("UNIQUE_COUNT", None, False, True),
], ids=["count", "sum", "max", "min", "avg", "latest", "unique"])
def test_late_events_and_billing(name, late, billable, needs_value):
    kind = aggregation_for(name)
    assert (kind.late_correction, kind.combinable, kind.needs_value) == (late, billable, needs_value)


@pytest.mark.parametrize(("name", "postgres", "rollup", "raw"), [
    ("COUNT", "t.quantity + excluded.quantity", "sum(quantity)", "count()"),
    ("SUM", "t.quantity + excluded.quantity", "sum(quantity)", "sum(v)"),
    ("MAX", "GREATEST(t.quantity, excluded.quantity)", "max(quantity)", "max(v)"),
    ("MIN", "LEAST(t.quantity, excluded.quantity)", "min(quantity)", "min(v)"),
    ("AVG", "t.quantity + excluded.quantity", "sum(quantity)", "sum(v)"),
    ("LATEST", None, "argMax(quantity, (latest_at, latest_id))", "argMax(v, (time, id))"),
    ("UNIQUE_COUNT", "t.quantity", "uniqExactMerge(uniques)", "uniqExact(v)"),
], ids=["count", "sum", "max", "min", "avg", "latest", "unique"])
def test_sql_fragments(name, postgres, rollup, raw):
    kind = aggregation_for(name)
    if postgres is not None:
        assert kind.postgres_merge == postgres
    else:
        assert kind.postgres_merge.startswith("CASE WHEN t.latest_at IS NULL")
    assert (kind.clickhouse_rollup, kind.clickhouse_raw.format(value="v")) == (rollup, raw)


@pytest.mark.parametrize("name", ["MEDIAN", "count", "", None], ids=["unknown", "lowercase", "empty", "none"])
def test_registry_refuses_unknown_names(name):
    with pytest.raises(UnknownAggregation):
        aggregation_for(name)


def test_registry_names_every_class_once_and_types_meters():
    assert AGGREGATIONS == ("COUNT", "SUM", "MAX", "UNIQUE_COUNT", "LATEST", "MIN", "AVG")
    assert all(aggregation_for(name).name == name for name in AGGREGATIONS)
    assert set(Aggregation.__args__) == set(AGGREGATIONS)
