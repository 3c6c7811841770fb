"""Limit alerts once per threshold, and hard limits blocking a meter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_jobs.limits import blocked_meters, due_alerts
from billing_jobs.plans import Plan

D = Decimal
PLAN = Plan.model_validate({"slug": "p", "name": "P", "currency": "USD", "limits": [
    {"meter_slug": "api", "quantity": "1000", "kind": "soft"},
    {"meter_slug": "api", "quantity": "2000", "kind": "hard"},
    {"meter_slug": "gb", "quantity": "10", "kind": "hard"},
]})


@pytest.mark.parametrize(("usage", "expected"), [
    ({}, []),
    ({"api": D(799)}, []),
    ({"api": D(800)}, [("api", "soft", 80)]),
    ({"api": D(1000)}, [("api", "soft", 80), ("api", "soft", 100)]),
    ({"api": D(1600)}, [("api", "soft", 80), ("api", "soft", 100), ("api", "hard", 80)]),
    ({"gb": D("9.99")}, [("gb", "hard", 80)]),
], ids=["none", "below", "80", "100", "hard-80", "fractional"])
def test_due_alerts(usage, expected):
    assert [(a.meter_slug, a.kind, a.threshold_percent) for a in due_alerts(PLAN, usage, set())] == expected


def test_an_alert_already_sent_is_not_due_again():
    assert due_alerts(PLAN, {"gb": D(10)}, {("gb", "hard", 80)})[0].threshold_percent == 100
    assert due_alerts(PLAN, {"gb": D(10)}, {("gb", "hard", 80), ("gb", "hard", 100)}) == []
    # The soft limit's 80% does not silence the hard limit's 80% on the same meter.
    assert [(a.kind, a.threshold_percent) for a in due_alerts(PLAN, {"api": D(1600)}, {("api", "soft", 80),
                                                                                       ("api", "soft", 100)})] == [
        ("hard", 80)]


@pytest.mark.parametrize(("usage", "expected"), [
    ({"api": D(1999), "gb": D(9)}, []), ({"api": D(2000)}, ["api"]), ({"api": D(5000), "gb": D(10)}, ["api", "gb"]),
], ids=["below", "at-limit", "both"])
def test_blocked_meters(usage, expected):
    assert blocked_meters(PLAN, usage) == expected


@given(st.decimals(min_value=0, max_value=10**6, places=2), st.decimals(min_value=0, max_value=10**6, places=2))
def test_alerts_are_monotone_in_usage(a, b):
    low, high = sorted((a, b))
    fired_low = {(x.meter_slug, x.kind, x.threshold_percent) for x in due_alerts(PLAN, {"api": low}, set())}
    fired_high = {(x.meter_slug, x.kind, x.threshold_percent) for x in due_alerts(PLAN, {"api": high}, set())}
    assert fired_low <= fired_high
