"""metering.reconcile: raw events as the stream aggregates them, against what each store holds."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from metering import Meter, UsageEvent
from metering.reconcile import StoredWindow, WindowId, reconcile_meter, reference_windows, repairs

TENANT = uuid.uuid4()
START = datetime(2026, 11, 1, tzinfo=timezone.utc)
END = datetime(2026, 12, 1, tzinfo=timezone.utc)
TOKENS = Meter(TENANT, "tokens", "llm.call", "SUM", "tokens", rollup_from=START - timedelta(days=1))
LAST = Meter(TENANT, "seats", "seats.set", "LATEST", "seats")


def _event(n: int, at: datetime, value, event_type: str = "llm.call", field: str = "tokens") -> UsageEvent:
    return UsageEvent(TENANT, f"e{n}", event_type, "s", at, {field: value})


EVENTS = [_event(1, START + timedelta(hours=1, minutes=5), 10), _event(2, START + timedelta(hours=1, minutes=6), "0.1"),
          _event(3, START + timedelta(days=3), 5)]


def _copy(windows: dict[WindowId, StoredWindow], revision: int = 1) -> dict[WindowId, StoredWindow]:
    return {k: StoredWindow(w.quantity, w.event_count, w.latest_at, w.latest_id, revision) for k, w in windows.items()}


def test_reference_windows_are_the_streams_aggregation_within_the_period():
    outside = _event(9, END + timedelta(minutes=1), 1000)
    reference = reference_windows(TOKENS, [*EVENTS, outside], START, END)
    hour = WindowId("hour", START + timedelta(hours=1), "{}")
    assert reference[hour] == StoredWindow(Decimal("10.1"), 2)
    assert reference[WindowId("day", START, "{}")] == StoredWindow(Decimal("10.1"), 2)
    assert {k.resolution for k in reference} == {"hour", "day"}  # minutes are not stored: nothing to reconcile
    assert all(START <= k.window_start < END for k in reference)


def test_stores_that_agree_have_no_difference_even_at_clickhouses_precision():
    reference = reference_windows(TOKENS, EVENTS, START, END)
    rollup = {k: StoredWindow(w.quantity.quantize(Decimal("1e-9")), w.event_count, revision=3)
              for k, w in reference.items()}
    result = reconcile_meter(str(TENANT), TOKENS, "closed", START, END, reference, rollup, _copy(reference))
    assert result.differences == []
    assert result.stores_differing == set()
    assert result.totals["raw"].quantity == Decimal("15.1") and result.totals["raw"].event_count == 3


def test_an_altered_rollup_and_a_missing_postgres_window_are_each_found():
    reference = reference_windows(TOKENS, EVENTS, START, END)
    hour = WindowId("hour", START + timedelta(hours=1), "{}")
    day = WindowId("day", START + timedelta(days=3), "{}")
    rollup = _copy(reference)
    rollup[hour] = StoredWindow(Decimal(99), 2, revision=4)
    postgres = _copy(reference)
    del postgres[day]
    result = reconcile_meter(str(TENANT), TOKENS, "open", START, END, reference, rollup, postgres)
    found = {d.window: d.stores for d in result.differences}
    assert found == {hour: ("rollup",), day: ("postgres",)}
    assert result.stores_differing == {"rollup"}  # the day is missing, its hour is not: totals agree
    assert result.totals["rollup"].quantity == Decimal("104")


def test_a_window_no_raw_event_supports_is_a_difference_and_its_repair_empties_it():
    reference = reference_windows(TOKENS, EVENTS, START, END)
    ghost = WindowId("hour", START + timedelta(days=9), "{}")
    postgres = _copy(reference, revision=2)
    postgres[ghost] = StoredWindow(Decimal(7), 1, revision=2)
    result = reconcile_meter(str(TENANT), TOKENS, "closed", START, END, reference, _copy(reference), postgres)
    assert [(d.window, d.stores) for d in result.differences] == [(ghost, ("postgres",))]
    assert result.stores_differing == {"postgres"}
    (repaired,) = repairs(result.differences)
    assert repaired.value.empty and repaired.value.revision == 3
    assert (repaired.quantity_change, repaired.event_count_change) == (Decimal(-7), -1)


def test_repairs_write_the_reference_above_both_stores_revisions():
    reference = reference_windows(TOKENS, EVENTS, START, END)
    hour = WindowId("hour", START + timedelta(hours=1), "{}")
    rollup, postgres = _copy(reference, revision=5), _copy(reference, revision=2)
    postgres[hour] = StoredWindow(Decimal(10), 1, revision=2)
    result = reconcile_meter(str(TENANT), TOKENS, "closed", START, END, reference, rollup, postgres)
    (repaired,) = repairs(result.differences)
    assert repaired.value == StoredWindow(Decimal("10.1"), 2, None, None, 6)
    assert (repaired.quantity_change, repaired.event_count_change) == (Decimal("0.1"), 1)


def test_latest_compares_the_event_it_holds_not_only_its_value():
    at = START + timedelta(hours=2)
    events = [UsageEvent(TENANT, "a", "seats.set", "s", at, {"seats": 3}),
              UsageEvent(TENANT, "b", "seats.set", "s", at + timedelta(minutes=1), {"seats": 3})]
    reference = reference_windows(LAST, events, START, END)
    hour = WindowId("hour", at, "{}")
    postgres = _copy(reference)
    postgres[hour] = StoredWindow(Decimal(3), 2, at, "a", 1)  # same value, the older event's
    result = reconcile_meter(str(TENANT), LAST, "closed", START, END, reference, None, postgres)
    assert [d.window for d in result.differences] == [hour]
    assert not result.rollups_compared and set(result.totals) == {"raw", "postgres"}


def test_rollups_are_compared_only_from_the_meters_rollup_from():
    """Events before it were backfilled into PostgreSQL only: rollups may lack them."""
    reference = reference_windows(TOKENS, EVENTS, START, END)
    late_meter = Meter(TENANT, "tokens", "llm.call", "SUM", "tokens", rollup_from=START + timedelta(days=2))
    rollup = {k: w for k, w in _copy(reference).items() if k.window_start >= START + timedelta(days=2)}
    result = reconcile_meter(str(TENANT), late_meter, "closed", START, END, reference, rollup, _copy(reference))
    assert result.differences == [] and result.stores_differing == set()
    assert result.totals["rollup"].quantity == Decimal(5) and result.totals["raw"].quantity == Decimal("15.1")
    rollup[WindowId("hour", START + timedelta(days=3), "{}")] = StoredWindow(Decimal(6), 1)
    result = reconcile_meter(str(TENANT), late_meter, "closed", START, END, reference, rollup, _copy(reference))
    assert [d.stores for d in result.differences] == [("rollup",)] and result.stores_differing == {"rollup"}
