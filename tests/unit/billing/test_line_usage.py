"""Which windows and events an invoice line was rated from (billing_jobs.line_usage and
segments.segment_event_range): exactly the hours with_usage gives the line's segment."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing_jobs.invoicing import compose_segmented_invoice
from billing_jobs.line_usage import NotAUsageLine, SegmentsChanged, line_usage_source
from billing_jobs.plans import Plan
from billing_jobs.segments import (
    SubscriptionSpan, plan_segments, segment_event_range, segment_of_window, with_usage,
)

UTC = timezone.utc
START, END = date(2026, 10, 1), date(2026, 11, 1)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def plan(slug: str, price: str = "0.01") -> Plan:
    return Plan.model_validate({"slug": slug, "name": slug, "currency": "USD", "flat_fee": "10.00",
                                "charges": [{"meter_slug": "api", "model": "unit", "unit_price": price},
                                            {"meter_slug": "db", "model": "unit", "unit_price": price}]})


SPANS = [SubscriptionSpan(plan("old"), at(3, 7, 30), at(12, 12, 30)), SubscriptionSpan(plan("new", "0.02"), at(12, 12, 30))]


@pytest.mark.parametrize("spans, expected", [
    (SPANS, [(at(3, 7), at(12, 13)), (at(12, 13), datetime(2026, 11, 1, tzinfo=UTC))]),
    ([SubscriptionSpan(plan("p"), at(1), at(20))], [(at(1), at(20))]),
    ([SubscriptionSpan(plan("a"), at(1), at(5, 6)), SubscriptionSpan(plan("b"), at(5, 6), at(9, 0, 1))],
     [(at(1), at(5, 6)), (at(5, 6), at(9, 1))]),
], ids=["mid-hour-start-and-change", "whole-hours", "on-the-hour-change"])
def test_event_ranges_cover_exactly_the_hours_with_usage_assigns(spans, expected):
    segments = plan_segments(spans, START, END)
    ranges = [segment_event_range(segments, i) for i in range(len(segments))]
    assert ranges == expected
    # Every hour of October: it is segment i's exactly when it lies in segment i's range.
    hour = datetime(2026, 10, 1, tzinfo=UTC)
    while hour < datetime(2026, 11, 1, tzinfo=UTC):
        inside = [i for i, (lo, hi) in enumerate(ranges) if lo <= hour < hi]
        assert segment_of_window(segments, hour) == (inside[0] if inside else None), hour
        hour += timedelta(hours=1)


def test_a_usage_line_is_found_in_its_segment_and_others_are_refused():
    segments = with_usage(plan_segments(SPANS, START, END),
                          [("api", at(5), Decimal(10)), ("api", at(20), Decimal(30)), ("db", at(20), Decimal(4))])
    draft = compose_segmented_invoice(tenant_slug="t", tenant_id="id", segments=segments, period_start=START,
                                      period_end=END)
    kinds = [(line.position, line.kind, line.meter_slug) for line in draft.lines]
    assert kinds == [(1, "flat_fee", None), (2, "usage", "api"), (3, "usage", "db"),
                     (4, "flat_fee", None), (5, "usage", "api"), (6, "usage", "db")]
    sources = {line.position: line_usage_source(draft, line, segments) for line in draft.lines if line.kind == "usage"}
    assert {p: (s.meter_slug, s.segment.plan.slug, s.events_from) for p, s in sources.items()} == {
        2: ("api", "old", at(3, 7)), 3: ("db", "old", at(3, 7)), 5: ("api", "new", at(12, 13)),
        6: ("db", "new", at(12, 13))}
    with pytest.raises(NotAUsageLine, match="line 4 is a flat_fee line"):
        line_usage_source(draft, draft.lines[3], segments)
    with pytest.raises(SegmentsChanged):
        line_usage_source(draft, draft.lines[1], segments[:1])
