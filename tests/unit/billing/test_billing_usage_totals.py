"""A segment's usage per meter follows the meter's aggregation over its hours and groups."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.errors import PermanentError
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSegment, with_usage
from billing_jobs.usage_totals import UnbillableMeterError, UsageHour, meter_totals, unbillable_meters
from metering import combine_total

D = Decimal


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=timezone.utc)


def row(aggregation: str, hour: int, quantity: str, latest: tuple[datetime, str] | None = None,
        slug: str = "m") -> UsageHour:
    latest_at, latest_id = latest or (None, None)
    return UsageHour(slug, at(2, hour), D(quantity), aggregation, latest_at, latest_id)


# Two groups ("eu", "us") share hours 1 and 2: rows of one meter, as usage_hourly holds them.
CASES = [
    ("count", [row("COUNT", 1, "3"), row("COUNT", 1, "4"), row("COUNT", 2, "5")], D(12)),
    ("sum", [row("SUM", 1, "1.5"), row("SUM", 2, "2.25")], D("3.75")),
    ("max-over-hours-and-groups", [row("MAX", 1, "7"), row("MAX", 1, "9"), row("MAX", 2, "8")], D(9)),
    ("max-negative", [row("MAX", 1, "-3"), row("MAX", 2, "-1")], D(-1)),
    ("latest-by-time-not-by-hour-order",
     [row("LATEST", 2, "10", (at(2, 2, 5), "a")), row("LATEST", 1, "20", (at(2, 1, 59), "z")),
      row("LATEST", 2, "30", (at(2, 2, 40), "b"))], D(30)),
    ("latest-tie-broken-by-id",
     [row("LATEST", 1, "1", (at(2, 1, 30), "e-2")), row("LATEST", 1, "2", (at(2, 1, 30), "e-10"))], D(1)),
    ("latest-across-groups-of-one-hour",
     [row("LATEST", 1, "5", (at(2, 1, 10), "x")), row("LATEST", 1, "6", (at(2, 1, 20), "y"))], D(6)),
]


@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_meter_total_follows_the_aggregation(rows, expected):
    totals, uncombinable = meter_totals(rows)
    assert totals == {"m": expected} and uncombinable == set()


@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_same_rule_as_the_stream(rows, expected):
    # The stream's combine_total is the other copy of the rule: they must never drift apart.
    assert combine_total(rows[0].aggregation, [(r.quantity, r.latest_at, r.latest_id) for r in rows]) == expected


def test_count_and_sum_rows_of_one_meter_add_up():
    # Rows from before the aggregation column (default SUM) beside the stream's COUNT rows.
    assert meter_totals([row("SUM", 1, "2"), row("COUNT", 2, "3")]) == ({"m": D(5)}, set())


def test_bare_triples_are_sum_rows():
    assert meter_totals([("a", at(2, 1), D(2)), ("a", at(2, 2), D(3))]) == ({"a": D(5)}, set())


def test_unique_count_is_left_out_and_named():
    totals, uncombinable = meter_totals([row("UNIQUE_COUNT", 1, "0", slug="users"), row("SUM", 1, "2")])
    assert totals == {"m": D(2)} and uncombinable == {"users"}


@pytest.mark.parametrize(("rows", "message"), [
    ([row("SUM", 1, "1"), row("MAX", 2, "1")], "SUM and MAX"),
    ([row("LATEST", 1, "1", (at(2, 1), "a")), row("COUNT", 2, "1")], "LATEST and COUNT"),
    ([row("LATEST", 1, "1")], "without latest_at"),
    ([row("MEDIAN", 1, "1")], "unknown aggregation"),
], ids=["sum-then-max", "latest-then-count", "latest-without-stamp", "unknown-aggregation"])
def test_rows_that_cannot_be_combined_are_a_permanent_error(rows, message):
    with pytest.raises(PermanentError, match=message):
        meter_totals(rows)


@pytest.mark.parametrize(("priced", "aggregations", "expected"), [
    ({"users", "calls"}, {"users": "UNIQUE_COUNT", "calls": "COUNT"}, ["users"]),
    ({"calls"}, {"users": "UNIQUE_COUNT", "calls": "COUNT"}, []),
    ({"ghost"}, {}, []),
], ids=["priced-unique-count", "unpriced-unique-count", "unknown-meter"])
def test_unbillable_meters(priced, aggregations, expected):
    assert unbillable_meters(priced, aggregations) == expected


# ---------------------------------------------------------------- per segment

OLD = Plan.model_validate({"slug": "old", "name": "Old", "currency": "USD",
                           "charges": [{"meter_slug": "seats", "model": "unit", "unit_price": "1.00"}]})
NEW = Plan.model_validate({"slug": "new", "name": "New", "currency": "USD",
                           "charges": [{"meter_slug": "users", "model": "unit", "unit_price": "1.00"}]})
SEGMENTS = [SubscriptionSegment(OLD, at(1), at(10, 12)), SubscriptionSegment(NEW, at(10, 12), at(20))]


def test_each_segment_combines_only_its_own_hours():
    hours = [UsageHour("peak", at(3, 1), D(40), "MAX"), UsageHour("peak", at(15, 1), D(25), "MAX"),
             UsageHour("seats", at(3, 1), D(5), "LATEST", at(3, 1, 30), "a"),
             UsageHour("seats", at(10, 11), D(7), "LATEST", at(10, 11, 59), "b"),
             UsageHour("seats", at(10, 12), D(3), "LATEST", at(10, 12, 1), "c")]
    old, new = with_usage(SEGMENTS, hours)
    # The old plan sees the latest seats before the change (7), not the later 3; each its own peak.
    assert dict(old.usage) == {"peak": D(40), "seats": D(7)}
    assert dict(new.usage) == {"peak": D(25), "seats": D(3)}


@pytest.mark.parametrize(("window", "raises"), [
    (at(3, 1), False),    # under the old plan, which does not price "users": left out, no error
    (at(15, 1), True),    # under the new plan, which does
], ids=["unpriced-segment", "priced-segment"])
def test_unique_count_priced_by_the_segment_plan_refuses_to_bill(window, raises):
    hours = [UsageHour("users", window, D(0), "UNIQUE_COUNT")]
    if raises:
        with pytest.raises(UnbillableMeterError, match="'users'") as caught:
            with_usage(SEGMENTS, hours)
        assert caught.value.meter_slug == "users"
    else:
        assert all("users" not in s.usage for s in with_usage(SEGMENTS, hours))
