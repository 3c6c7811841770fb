"""MRR, its movements, subscriptions, churn and ARPU from spans (billing_jobs.analytics), one
table per definition; the expected figures are worked out by hand beside each case."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.analytics import (
    Month, SubscriptionSpan, arpu_by_month, begun_months, churn_by_month, closing_instant, month_range, monthly_recurring_amount,
    mrr_by_month, parse_month, subscriptions_by_month,
)
from billing_jobs.plans import Plan

JAN, FEB, MAR = Month(2026, 1), Month(2026, 2), Month(2026, 3)
LATER = datetime(2027, 1, 1, tzinfo=timezone.utc)


def at(month: int, day: int = 1) -> datetime:
    return datetime(2026, month, day, tzinfo=timezone.utc)


def span(tenant: str, amount: str, start: datetime, end: datetime | None = None, currency: str = "USD",
         plan: str = "p") -> SubscriptionSpan:
    return SubscriptionSpan(tenant, plan, currency, Decimal(amount), start, end)


def movements(row) -> tuple:
    return (row.starting_mrr, row.new, row.expansion, row.contraction, row.churn, row.reactivation, row.mrr)


D = Decimal
MRR_CASES = [
    # (spans, month, expected (start, new, expansion, contraction, churn, reactivation, end))
    pytest.param([span("a", "100", at(1, 10))], JAN, (0, 100, 0, 0, 0, 0, 100), id="new-mid-month"),
    pytest.param([span("a", "100", at(1, 10))], FEB, (100, 0, 0, 0, 0, 0, 100), id="unchanged"),
    pytest.param([span("a", "100", at(1, 1), at(2, 15)), span("a", "150", at(2, 15))], FEB,
                 (100, 0, 50, 0, 0, 0, 150), id="upgrade-is-expansion"),
    pytest.param([span("a", "100", at(1, 1), at(2, 15)), span("a", "40", at(2, 15))], FEB,
                 (100, 0, 0, 60, 0, 0, 40), id="downgrade-is-contraction"),
    pytest.param([span("a", "100", at(1, 1), at(2, 20))], FEB, (100, 0, 0, 0, 100, 0, 0), id="cancel-is-churn"),
    # Cancelled at period end: the row ends at the next month's first instant, so January
    # closes with it and February churns it.
    pytest.param([span("a", "100", at(1, 5), at(2, 1))], JAN, (0, 100, 0, 0, 0, 0, 100), id="ends-at-close-counts"),
    pytest.param([span("a", "100", at(1, 5), at(2, 1))], FEB, (100, 0, 0, 0, 100, 0, 0), id="churn-next-month"),
    pytest.param([span("a", "100", at(1, 5), at(1, 20)), span("a", "80", at(3, 2))], MAR,
                 (0, 0, 0, 0, 0, 80, 80), id="returning-is-reactivation"),
    # Paid and left within January, back in February: it paid before February began.
    pytest.param([span("a", "100", at(1, 5), at(1, 20)), span("a", "80", at(2, 2))], FEB,
                 (0, 0, 0, 0, 0, 80, 80), id="reactivation-after-gap-inside-one-month"),
    pytest.param([span("a", "0", at(1, 5), at(2, 10)), span("a", "80", at(2, 10))], FEB,
                 (0, 80, 0, 0, 0, 0, 80), id="free-to-paid-is-new"),
    pytest.param([span("a", "100", at(2, 3), at(2, 9))], FEB, (0, 0, 0, 0, 0, 0, 0), id="in-and-out-inside-month"),
    pytest.param([span("a", "100", at(1, 1), at(2, 3)), span("b", "30", at(2, 3)), span("c", "20", at(1, 7))], FEB,
                 (120, 30, 0, 0, 100, 0, 50), id="several-tenants-add-up"),
    pytest.param([span("a", "100", at(2, 1))], FEB, (0, 100, 0, 0, 0, 0, 100), id="starts-at-month-start"),
]


@pytest.mark.parametrize(("spans", "month", "expected"), MRR_CASES)
def test_mrr_movements(spans, month, expected):
    [row] = mrr_by_month(spans, [month], LATER)
    assert movements(row) == tuple(D(v) for v in expected)
    # The movements always reconcile the two closes.
    assert row.starting_mrr + row.new + row.expansion + row.reactivation - row.contraction - row.churn == row.mrr
    assert row.arr == row.mrr * 12


def test_each_currency_has_its_own_row_in_every_month():
    spans = [span("a", "100", at(1, 3)), span("b", "50", at(2, 3), currency="EUR")]
    rows = mrr_by_month(spans, [JAN, FEB], LATER)
    assert [(str(r.month), r.currency, r.mrr, r.paying_tenants) for r in rows] == [
        ("2026-01", "EUR", D(0), 0), ("2026-01", "USD", D(100), 1),
        ("2026-02", "EUR", D(50), 1), ("2026-02", "USD", D(100), 1)]


def test_the_month_under_way_closes_at_now():
    spans = [span("a", "100", at(1, 3)), span("b", "50", at(1, 20))]
    [row] = mrr_by_month(spans, [JAN], at(1, 10))
    assert (row.new, row.mrr) == (D(100), D(100))


@pytest.mark.parametrize(("month", "now", "expected"), [
    pytest.param(JAN, at(3), at(2), id="past-month-closes-at-its-end"),
    pytest.param(JAN, at(1, 10), at(1, 10), id="current-month-closes-now"),
])
def test_closing_instant(month, now, expected):
    assert closing_instant(month, now) == expected


def test_a_month_not_begun_has_no_figures():
    with pytest.raises(ValueError, match="has not begun"):
        closing_instant(FEB, at(2))


SUBSCRIPTION_CASES = [
    # (spans, month, (active at start, started, canceled, active at end))
    pytest.param([span("a", "1", at(1, 5))], JAN, (0, 1, 0, 1), id="started"),
    pytest.param([span("a", "1", at(1, 5), at(2, 1)), span("a", "2", at(2, 1))], FEB, (1, 0, 0, 1),
                 id="plan-change-at-month-start-is-neither"),
    pytest.param([span("a", "1", at(1, 5), at(2, 7)), span("a", "2", at(2, 7))], FEB, (1, 0, 0, 1),
                 id="plan-change-is-neither"),
    pytest.param([span("a", "1", at(1, 5), at(2, 7))], FEB, (1, 0, 1, 0), id="canceled"),
    pytest.param([span("a", "1", at(1, 5), at(2, 1))], FEB, (1, 0, 1, 0), id="ended-at-period-end-counts-next"),
    pytest.param([span("a", "1", at(2, 2), at(2, 7)), span("b", "0", at(1, 2))], FEB, (1, 1, 1, 1),
                 id="in-and-out-free-plan-counts"),
    pytest.param([span("a", "1", at(1, 2), at(2, 3)), span("a", "1", at(2, 20))], FEB, (1, 1, 1, 1),
                 id="cancel-then-resubscribe"),
]


@pytest.mark.parametrize(("spans", "month", "expected"), SUBSCRIPTION_CASES)
def test_subscriptions(spans, month, expected):
    [row] = subscriptions_by_month(spans, [month], LATER)
    assert (row.active_at_start, row.started, row.canceled, row.active_at_end) == expected
    assert row.active_at_start + row.started - row.canceled == row.active_at_end


@pytest.mark.parametrize(("spans", "expected"), [
    pytest.param([span("a", "1", at(1, 5), at(2, 7)), span("b", "1", at(1, 5)), span("c", "1", at(1, 9)),
                  span("d", "1", at(1, 9))], (4, 1, D("0.2500")), id="one-of-four"),
    pytest.param([span("a", "1", at(1, 5), at(2, 7)), span("b", "1", at(1, 5), at(2, 9)),
                  span("c", "1", at(1, 9))], (3, 2, D("0.6667")), id="rounded-half-up-to-4-places"),
    pytest.param([span("a", "1", at(2, 2), at(2, 7))], (0, 1, None), id="no-base-no-rate"),
    pytest.param([span("a", "1", at(1, 2), at(2, 7)), span("a", "2", at(2, 7))], (1, 0, D("0.0000")),
                 id="plan-change-is-not-churn"),
    pytest.param([span("a", "1", at(1, 2)), span("b", "1", at(2, 2), at(2, 9))], (1, 1, D("1.0000")),
                 id="started-and-cancelled-inside-counts-above-the-line"),
])
def test_churn_rate(spans, expected):
    [row] = churn_by_month(spans, [FEB], LATER)
    assert (row.active_at_start, row.cancellations, row.rate) == expected


@pytest.mark.parametrize(("spans", "currency", "expected"), [
    pytest.param([span("a", "100", at(1, 2)), span("b", "50", at(1, 2)), span("c", "0", at(1, 2))], "USD",
                 (D(150), 2, D("75.00")), id="free-tenants-not-in-the-base"),
    pytest.param([span("a", "10", at(1, 2)), span("b", "10", at(1, 2)), span("c", "0.01", at(1, 2))], "USD",
                 (D("20.01"), 3, D("6.67")), id="rounded-to-cents"),
    pytest.param([span("a", "1000", at(1, 2), currency="JPY"), span("b", "501", at(1, 2), currency="JPY")], "JPY",
                 (D(1501), 2, D(751)), id="yen-has-no-minor-unit"),
    pytest.param([span("a", "100", at(1, 2), at(1, 9))], "USD", (D(0), 0, None), id="nobody-paying"),
])
def test_arpu(spans, currency, expected):
    [row] = [r for r in arpu_by_month(mrr_by_month(spans, [JAN], LATER)) if r.currency == currency]
    assert (row.mrr, row.paying_tenants, row.arpu) == expected


@pytest.mark.parametrize(("fee", "expected"), [("0", D(0)), ("29.99", D("29.99"))])
def test_monthly_recurring_amount_is_the_flat_fee_per_month(fee, expected):
    plan = Plan(slug="p", name="P", currency="USD", flat_fee=fee,
                charges=[{"model": "unit", "meter_slug": "api", "unit_price": "5", "minimum": "100"}])
    # Usage prices and minimums do not recur: only the flat fee is MRR.
    assert monthly_recurring_amount(plan) == expected


@pytest.mark.parametrize(("text", "expected"), [("2026-01", JAN), ("1999-12", Month(1999, 12))])
def test_parse_month(text, expected):
    assert parse_month(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-01", "2026-00", "2026-01-01", ""])
def test_parse_month_refuses(text):
    with pytest.raises(ValueError):
        parse_month(text)


def test_month_range_crosses_years():
    assert [str(m) for m in month_range(Month(2025, 11), Month(2026, 2))] == ["2025-11", "2025-12", "2026-01",
                                                                             "2026-02"]
    with pytest.raises(ValueError):
        month_range(FEB, JAN)


@pytest.mark.parametrize(("first", "count", "now", "expected"), [
    pytest.param(JAN, 3, LATER, ["2026-01", "2026-02", "2026-03"], id="all-past"),
    pytest.param(JAN, 12, at(2, 10), ["2026-01", "2026-02"], id="stops-at-the-month-under-way"),
    pytest.param(MAR, 2, at(3), [], id="month-starting-now-has-not-begun"),
    pytest.param(Month(2025, 12), 2, LATER, ["2025-12", "2026-01"], id="crosses-a-year"),
])
def test_begun_months(first, count, now, expected):
    assert [str(m) for m in begun_months(first, count, now)] == expected
