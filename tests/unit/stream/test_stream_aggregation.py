"""Pure aggregation: every meter kind, groups, windows, dead letters, totals."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from metering import (
    NO_GROUP, InvalidMeterValue, Meter, UsageEvent, WindowKey, aggregate, combine_total, extract_property,
    group_key, group_values, window_start,
)

TENANT = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)
T0 = datetime(2026, 11, 25, 10, 15, 30, tzinfo=timezone.utc)


def ev(event_id: str, data: dict, at: datetime = T0, type_: str = "llm", tenant: uuid.UUID = TENANT) -> UsageEvent:
    return UsageEvent(tenant, event_id, type_, "s", at, data)


def hour_totals(result, slug: str) -> dict[str, tuple[Decimal, int]]:
    return {k.group_key: (d.quantity, d.event_count) for k, d in result.deltas.items()
            if k.meter_slug == slug and k.resolution == "hour"}


@pytest.mark.parametrize(("aggregation", "path", "events", "expected"), [
    ("COUNT", None, [ev("a", {}), ev("b", {"x": 1})], Decimal(2)),
    ("SUM", "t", [ev("a", {"t": 1.5}), ev("b", {"t": "2"}), ev("c", {"t": 0.1})], Decimal("3.6")),
    ("MAX", "t", [ev("a", {"t": -3}), ev("b", {"t": -1}), ev("c", {"t": -2})], Decimal(-1)),
    ("LATEST", "t", [ev("a", {"t": 1}, T0 + timedelta(minutes=5)), ev("b", {"t": 2}, T0), ev("c", {"t": 3}, T0)],
     Decimal(1)),
    # Same time: the greater id wins, whatever the arrival order.
    ("LATEST", "t", [ev("b", {"t": 2}, T0), ev("a", {"t": 1}, T0)], Decimal(2)),
    ("UNIQUE_COUNT", "user", [ev("a", {"user": "u1"}), ev("b", {"user": "u1"}), ev("c", {"user": 7})], Decimal(0)),
], ids=["count", "sum-decimal", "max-negative", "latest-by-time", "latest-tie-by-id", "unique-keeps-values"])
def test_each_aggregation_within_one_hour(aggregation, path, events, expected):
    meter = Meter(TENANT, "m", "llm", aggregation, path)
    result = aggregate(events, [meter])
    assert hour_totals(result, "m") == {NO_GROUP: (expected, len(events))}
    assert result.aggregations == {(TENANT, "m"): aggregation}


def test_unique_count_carries_distinct_values_as_text():
    meter = Meter(TENANT, "users", "llm", "UNIQUE_COUNT", "user")
    result = aggregate([ev("a", {"user": "u1"}), ev("b", {"user": "u1"}), ev("c", {"user": 7}),
                        ev("d", {"user": True})], [meter], resolutions=["day"])
    (delta,) = result.deltas.values()
    assert delta.unique_values == {"u1", "7", "true"}


def test_windows_at_every_resolution():
    meter = Meter(TENANT, "calls", "llm", "COUNT")
    events = [ev("a", {}, T0), ev("b", {}, T0 + timedelta(seconds=40)), ev("c", {}, T0 + timedelta(hours=1)),
              ev("d", {}, T0 + timedelta(days=1))]
    result = aggregate(events, [meter])
    counts = {(k.resolution, k.window_start): d.event_count for k, d in result.deltas.items()}
    assert counts == {
        ("minute", datetime(2026, 11, 25, 10, 15, tzinfo=timezone.utc)): 1,
        ("minute", datetime(2026, 11, 25, 10, 16, tzinfo=timezone.utc)): 1,
        ("minute", datetime(2026, 11, 25, 11, 15, tzinfo=timezone.utc)): 1,
        ("minute", datetime(2026, 11, 26, 10, 15, tzinfo=timezone.utc)): 1,
        ("hour", datetime(2026, 11, 25, 10, tzinfo=timezone.utc)): 2,
        ("hour", datetime(2026, 11, 25, 11, tzinfo=timezone.utc)): 1,
        ("hour", datetime(2026, 11, 26, 10, tzinfo=timezone.utc)): 1,
        ("day", datetime(2026, 11, 25, tzinfo=timezone.utc)): 3,
        ("day", datetime(2026, 11, 26, tzinfo=timezone.utc)): 1,
    }


def test_group_by_splits_usage_and_missing_values_group_as_null():
    meter = Meter(TENANT, "tokens", "llm", "SUM", "t", group_by=("region", "model.name"))
    events = [ev("a", {"t": 1, "region": "eu", "model": {"name": "m1"}}),
              ev("b", {"t": 2, "region": "eu", "model": {"name": "m1"}}),
              ev("c", {"t": 4, "region": "us", "model": {"name": "m1"}}),
              ev("d", {"t": 8, "model": {"name": "m2"}})]
    assert hour_totals(aggregate(events, [meter]), "tokens") == {
        '{"model.name":"m1","region":"eu"}': (Decimal(3), 2),
        '{"model.name":"m1","region":"us"}': (Decimal(4), 1),
        '{"model.name":"m2","region":null}': (Decimal(8), 1),
    }


@pytest.mark.parametrize(("aggregation", "data", "reason"), [
    ("SUM", {}, "data.t is missing"),
    ("MAX", {"t": "lots"}, "data.t is not a number"),
    ("LATEST", {"t": True}, "data.t is not a number"),
    ("UNIQUE_COUNT", {"t": None}, "data.t is missing"),
    ("UNIQUE_COUNT", {"t": {"a": 1}}, "data.t is not a string or number"),
], ids=["sum-missing", "max-text", "latest-bool", "unique-null", "unique-object"])
def test_bad_values_are_dead_letters_for_that_meter_only(aggregation, data, reason):
    meters = [Meter(TENANT, "m", "llm", aggregation, "t"), Meter(TENANT, "calls", "llm", "COUNT")]
    result = aggregate([ev("a", data)], meters)
    assert [(d.event.id, d.meter_slug, d.reason) for d in result.dead_letters] == [("a", "m", reason)]
    assert hour_totals(result, "calls") == {NO_GROUP: (Decimal(1), 1)}
    assert hour_totals(result, "m") == {}


def test_meters_apply_per_tenant_and_type():
    meters = [Meter(TENANT, "calls", "llm", "COUNT"), Meter(OTHER, "calls", "api", "COUNT")]
    result = aggregate([ev("a", {}), ev("b", {}, type_="api"), ev("c", {}, tenant=OTHER)], meters, ["hour"])
    assert {(k.tenant_id, k.meter_slug): d.event_count for k, d in result.deltas.items()} == {(TENANT, "calls"): 1}


@pytest.mark.parametrize(("data", "paths", "values"), [
    ({"r": "eu", "n": 3, "f": 1.5, "b": False}, ["r", "n", "f", "b"], {"r": "eu", "n": "3", "f": "1.5", "b": "false"}),
    ({"r": None, "o": {"x": 1}}, ["r", "o", "absent"], {"r": None, "o": None, "absent": None}),
], ids=["scalars-as-text", "null-object-missing"])
def test_group_values(data, paths, values):
    assert group_values(data, paths) == values


def test_group_key_is_canonical():
    assert group_key({"b": "1", "a": None}) == group_key({"a": None, "b": "1"}) == '{"a":null,"b":"1"}'
    assert group_key({}) == NO_GROUP


def test_extract_property_refuses_arrays():
    with pytest.raises(InvalidMeterValue):
        extract_property({"x": [1]}, "x")


@pytest.mark.parametrize(("moment", "resolution", "start"), [
    (T0, "minute", datetime(2026, 11, 25, 10, 15, tzinfo=timezone.utc)),
    (T0, "hour", datetime(2026, 11, 25, 10, tzinfo=timezone.utc)),
    (T0.astimezone(timezone(timedelta(hours=-11))), "day", datetime(2026, 11, 25, tzinfo=timezone.utc)),
], ids=["minute", "hour", "day-in-utc"])
def test_window_start(moment, resolution, start):
    assert window_start(moment, resolution) == start


L1, L2 = T0, T0 + timedelta(hours=1)


@pytest.mark.parametrize(("aggregation", "windows", "total"), [
    ("COUNT", [(Decimal(2), None, None), (Decimal(3), None, None)], Decimal(5)),
    ("SUM", [], Decimal(0)),
    ("MAX", [(Decimal(2), None, None), (Decimal(9), None, None), (Decimal(3), None, None)], Decimal(9)),
    ("LATEST", [(Decimal(5), L2, "a"), (Decimal(7), L1, "z")], Decimal(5)),
    ("LATEST", [(Decimal(5), L1, "a"), (Decimal(7), L1, "b")], Decimal(7)),
    ("UNIQUE_COUNT", [(Decimal(0), None, None)], None),
], ids=["count-adds", "empty-is-zero", "max", "latest-by-time", "latest-tie-by-id", "unique-not-combinable"])
def test_combine_total(aggregation, windows, total):
    assert combine_total(aggregation, windows) == total


def test_window_key_defaults_keep_old_callers_working():
    key = WindowKey(TENANT, "m", T0)
    assert (key.group_key, key.resolution) == (NO_GROUP, "hour")


@pytest.mark.parametrize("aggregation", ["COUNT", "SUM", "MAX", "LATEST", "UNIQUE_COUNT"])
def test_coarse_windows_equal_aggregating_events_directly(aggregation):
    """Hours and days are merged from minutes: the same as aggregating the events per hour or day."""
    meter = Meter(TENANT, "m", "llm", aggregation, None if aggregation == "COUNT" else "t", group_by=("r",))
    events = [ev(f"e{i:03}", {"t": (i * 37) % 101 - 50, "r": "ab"[i % 2]}, T0 + timedelta(minutes=13 * i))
              for i in range(300)]
    merged = aggregate(events, [meter])
    for resolution in ("hour", "day"):
        direct = aggregate(events, [meter], resolutions=[resolution]).deltas
        assert {k: v for k, v in merged.deltas.items() if k.resolution == resolution} == direct


def test_events_with_an_offset_go_into_their_utc_hour_when_hours_are_the_finest():
    """The stream aggregates into hours directly (minutes are not stored): an event sent
    with +05:30 lands in the UTC hour it happened in, as with minutes first."""
    meter = Meter(TENANT, "m", "llm", "SUM", "t")
    kolkata = timezone(timedelta(hours=5, minutes=30))
    events = [ev("a", {"t": 1}, datetime(2026, 11, 25, 16, 10, tzinfo=kolkata)),  # 10:40 UTC
              ev("b", {"t": 2}, datetime(2026, 11, 25, 16, 40, tzinfo=kolkata)),  # 11:10 UTC
              ev("c", {"t": 4}, T0)]                                              # 10:15 UTC
    hours = aggregate(events, [meter], ["hour", "day"]).deltas
    assert {k.window_start: d.quantity for k, d in hours.items() if k.resolution == "hour"} == {
        datetime(2026, 11, 25, 10, tzinfo=timezone.utc): Decimal(5),
        datetime(2026, 11, 25, 11, tzinfo=timezone.utc): Decimal(2)}
    assert {k: v for k, v in aggregate(events, [meter]).deltas.items() if k.resolution != "minute"} == hours
