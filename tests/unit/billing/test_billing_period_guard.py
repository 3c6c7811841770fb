"""The period guard (billing_jobs.period_guard): closed periods only, with two exceptions."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from billing_jobs.errors import PermanentError
from billing_jobs.period_guard import (
    CloseNow, PeriodNotClosedError, check_period, ended_early, period_refusal, run_period_refusal,
)
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSpan

NOV, DEC, JAN = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)
PLAN = Plan(slug="p", name="P", currency="USD", flat_fee=Decimal("10.00"))
CLOSE = CloseNow(operator="finance@meterline.example", reason="customer leaves, invoice today")


def at(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


LIVE = [SubscriptionSpan(PLAN, at(10, 1))]
CANCELLED_AT_ONCE = [SubscriptionSpan(PLAN, at(10, 1), at(12, 4))]
CANCEL_SCHEDULED = [SubscriptionSpan(PLAN, at(10, 1), at(12, 20))]
CHANGED_PLAN = [SubscriptionSpan(PLAN, at(10, 1), at(12, 4)), SubscriptionSpan(PLAN, at(12, 4))]


@pytest.mark.parametrize(("start", "end", "now", "spans", "close_now", "refused_with"), [
    (NOV, DEC, at(12, 1), LIVE, None, None),
    (NOV, DEC, at(12, 6), LIVE, None, None),
    (DEC, JAN, at(12, 6), LIVE, None, "is open until 2027-01-01"),
    (DEC, JAN, at(11, 30, 23), LIVE, None, "has not started"),
    (DEC, JAN, at(12, 6), CANCELLED_AT_ONCE, None, None),
    (DEC, JAN, at(12, 6), CANCEL_SCHEDULED, None, "is open until"),
    (DEC, JAN, at(12, 6), CHANGED_PLAN, None, "is open until"),
    (DEC, JAN, at(12, 6), LIVE, CLOSE, None),
    (JAN, date(2027, 2, 1), at(12, 6), LIVE, CLOSE, "has not started"),
    (JAN, date(2027, 2, 1), at(12, 6), CANCELLED_AT_ONCE, None, "has not started"),
], ids=["closed-at-the-boundary", "closed", "open", "future", "cancelled-at-once", "cancel-scheduled",
        "plan-changed", "close-now", "future-close-now", "future-cancelled"])
def test_period_refusal(start, end, now, spans, close_now, refused_with):
    refusal = period_refusal(start, end, now, spans=spans, close_now=close_now)
    if refused_with is None:
        assert refusal is None
        check_period(start, end, now, spans=spans, close_now=close_now)
    else:
        assert refused_with in refusal
        with pytest.raises(PeriodNotClosedError, match=refused_with) as raised:
            check_period(start, end, now, spans=spans, close_now=close_now)
        assert isinstance(raised.value, PermanentError)  # never retried


def test_the_open_period_reason_names_the_period_and_the_way_out():
    reason = run_period_refusal(DEC, JAN, at(12, 6))
    assert reason == ("period 2026-12 is open until 2027-01-01 00:00 UTC; it is invoiced after it closes, "
                      "or now by an operator's close now (operator and reason)")
    assert run_period_refusal(DEC, JAN, at(12, 6), CLOSE) is None
    assert run_period_refusal(NOV, DEC, at(12, 6)) is None


@pytest.mark.parametrize(("spans", "expected"), [
    ([], False), (LIVE, False), (CANCELLED_AT_ONCE, True), (CANCEL_SCHEDULED, False), (CHANGED_PLAN, False),
], ids=["none", "live", "ended", "ends-later", "replaced"])
def test_ended_early(spans, expected):
    assert ended_early(spans, at(12, 6)) is expected


@pytest.mark.parametrize("fields", [{"operator": "", "reason": "r"}, {"operator": "o", "reason": "  "},
                                    {"operator": "o"}], ids=["no-operator", "blank-reason", "no-reason"])
def test_close_now_needs_who_and_why(fields):
    with pytest.raises(ValidationError):
        CloseNow(**fields)
