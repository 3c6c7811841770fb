"""aggregate() for MIN and AVG: per window and resolution, from finer windows, with groups
and dead letters. Expected numbers written out by hand."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from metering import Meter, UsageEvent, aggregate, aggregation_for

TENANT = uuid.UUID(int=1)
T0 = datetime(2026, 12, 1, 10, 15, tzinfo=timezone.utc)
D = Decimal


def ev(event_id: str, value, minutes: int = 0, region: str = "eu") -> UsageEvent:
    return UsageEvent(TENANT, event_id, "gauge", "s", T0 + timedelta(minutes=minutes),
                      {"v": value, "region": region})


EVENTS = [ev("a", 4), ev("b", "1.5", 1), ev("c", 10, 50), ev("d", -2, 24 * 60), ev("e", "x", 2),
          ev("f", 6, 0, "us")]


@pytest.mark.parametrize(("aggregation", "resolution", "expected"), [
    ("MIN", "minute", {T0: (D(4), 1), T0 + timedelta(minutes=1): (D("1.5"), 1),
                       T0 + timedelta(minutes=50): (D(10), 1), T0 + timedelta(days=1): (D(-2), 1)}),
    ("MIN", "hour", {T0.replace(minute=0): (D("1.5"), 2), T0.replace(minute=0) + timedelta(hours=1): (D(10), 1),
                     T0.replace(minute=0) + timedelta(days=1): (D(-2), 1)}),
    ("MIN", "day", {T0.replace(hour=0, minute=0): (D("1.5"), 3), T0.replace(hour=0, minute=0) + timedelta(days=1):
                    (D(-2), 1)}),
    # AVG windows store the sum and the count; the mean is read from them.
    ("AVG", "hour", {T0.replace(minute=0): (D("5.5"), 2), T0.replace(minute=0) + timedelta(hours=1): (D(10), 1),
                     T0.replace(minute=0) + timedelta(days=1): (D(-2), 1)}),
    ("AVG", "day", {T0.replace(hour=0, minute=0): (D("15.5"), 3), T0.replace(hour=0, minute=0) + timedelta(days=1):
                    (D(-2), 1)}),
], ids=["min-minute", "min-hour", "min-day", "avg-hour", "avg-day"])
def test_min_and_avg_windows(aggregation, resolution, expected):
    meter = Meter(TENANT, "m", "gauge", aggregation, "v", ("region",))
    result = aggregate(EVENTS, [meter])
    eu = {k.window_start: (d.quantity, d.event_count) for k, d in result.deltas.items()
          if k.resolution == resolution and "eu" in k.group_key}
    assert eu == expected
    us = [(d.quantity, d.event_count) for k, d in result.deltas.items() if k.resolution == resolution
          and "us" in k.group_key]
    assert us == [(D(6), 1)]
    assert [(d.event.id, d.meter_slug) for d in result.dead_letters] == [("e", "m")]  # "x" is not a number


def test_avg_day_reads_as_the_event_weighted_mean():
    meter = Meter(TENANT, "m", "gauge", "AVG", "v")
    result = aggregate(EVENTS, [meter], ["hour", "day"])
    [first_day] = [d for k, d in result.deltas.items() if k.resolution == "day" and k.window_start.day == 1]
    # (4 + 1.5 + 10 + 6) / 4, not the mean of the hours' means.
    assert aggregation_for("AVG").window_value(first_day.quantity, first_day.event_count) == D("5.375")
