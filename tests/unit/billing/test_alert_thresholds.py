"""A tenant's own alert thresholds: the rules they must meet, which ones a check applies,
and that the limit check fires at the tenant's percents (over a fake of its store)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.limits import applied_thresholds, threshold_problems
from billing_jobs.limits_service import check_tenant_limits
from billing_jobs.plans import Plan
from billing_jobs.ports import LimitSubject



class FakeLimitStore:
    """The check's store: the usage given, nothing recorded yet, every alert recorded as new."""

    def __init__(self, usage_by_meter: dict) -> None:
        self.usage_by_meter = usage_by_meter

    def usage(self, tenant_id, start, end):
        return self.usage_by_meter

    def recorded_alerts(self, tenant_id, period_start):
        return set()

    def targets(self, tenant_id):
        return "b@acme.test", None

    def record(self, tenant_id, period_start, period_end, plan_slug, alerts, notifications, blocked):
        return alerts

NOW = datetime(2026, 10, 20, 12, 30, tzinfo=timezone.utc)
PLAN = Plan.model_validate({"slug": "p", "name": "P", "currency": "USD", "limits": [
    {"meter_slug": "api", "quantity": "200", "kind": "soft"}]})


@pytest.mark.parametrize(("percents", "expected"), [
    ([80, 100], []),
    ([1], []),
    ([1000, 50, 150], []),
    (list(range(10, 110, 10)), []),
    ([], [(None, "give at least one threshold")]),
    (list(range(1, 12)), [(None, "at most 10 thresholds")]),
    ([0], [(0, "must be between 1 and 1000 percent")]),
    ([50, -5], [(1, "must be between 1 and 1000 percent")]),
    ([1001], [(0, "must be between 1 and 1000 percent")]),
    ([80, 90, 80], [(2, "80 is already at position 0")]),
    ([80, True], [(1, "must be a whole number of percent")]),
    ([80, 12.5, "90"], [(1, "must be a whole number of percent"), (2, "must be a whole number of percent")]),
], ids=["default", "lowest", "unordered-above-100", "ten", "empty", "eleven", "zero", "negative", "too-high",
        "duplicate", "boolean", "not-integers"])
def test_threshold_problems(percents, expected):
    assert threshold_problems(percents) == expected


@pytest.mark.parametrize(("chosen", "default", "expected"), [
    (None, (80, 100), (80, 100)),
    ((), (100, 80), (80, 100)),
    ((150, 50), (80, 100), (50, 150)),
], ids=["none-chosen", "empty-is-default", "chosen-sorted"])
def test_applied_thresholds(chosen, default, expected):
    assert applied_thresholds(chosen, default) == expected


@pytest.mark.parametrize(("thresholds", "usage", "fired"), [
    (None, "170", [80]),  # 85%: the default 80 fires
    (None, "110", []),  # 110 of 200 is 55%: below the default 80
    ((50,), "110", [50]),
    ((25, 50, 150), "310", [25, 50, 150]),
    ((60,), "110", []),
], ids=["default-reached", "default-not-reached", "custom-50", "custom-above-limit", "custom-not-reached"])
def test_check_fires_at_the_tenants_thresholds(thresholds, usage, fired):
    store = FakeLimitStore({"api": Decimal(usage)})
    subject = LimitSubject("t1", "acme", PLAN, datetime(2026, 1, 1, tzinfo=timezone.utc), thresholds)
    result = check_tenant_limits(store=store, subject=subject, now=NOW, thresholds=(80, 100))
    assert [a.threshold_percent for a in result.new_alerts] == fired
