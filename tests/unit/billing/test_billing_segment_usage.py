"""Which segment an hourly usage window is billed to."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSegment, with_usage

PLAN = Plan.model_validate({"slug": "p", "name": "P", "currency": "USD", "flat_fee": "1.00"})
OTHER = Plan.model_validate({"slug": "q", "name": "Q", "currency": "USD", "flat_fee": "2.00"})


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=timezone.utc)


@pytest.mark.parametrize(("window", "billed"), [
    (at(5, 6), [Decimal(7), None]),        # the hour the subscription starts in (06:10): billed, not lost
    (at(5, 5), [None, None]),              # a whole hour before the start: not billed
    (at(12, 11), [Decimal(7), None]),      # the hour a plan change happens in (11:30): the old plan
    (at(12, 12), [None, Decimal(7)]),
], ids=["start-hour", "before-start", "change-hour", "after-change"])
def test_window_goes_to_the_segment_in_force(window, billed):
    segments = [SubscriptionSegment(PLAN, at(5, 6, 10), at(12, 11, 30)),
                SubscriptionSegment(OTHER, at(12, 11, 30), datetime(2026, 11, 1, tzinfo=timezone.utc))]
    result = with_usage(segments, [("calls", window, Decimal(7))])
    assert [s.usage.get("calls") for s in result] == billed
