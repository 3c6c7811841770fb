"""Golden invoices: fixed plans and usage -> exactly these invoices, computed by hand beside each.

Period: October 2026, 31 days = 2,678,400 s. Every price model (unit, package,
graduated, volume), included usage, minimums, a mid-period plan change, a
cancellation at once and one at period end.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.invoicing import compose_invoice, compose_segmented_invoice
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSegment, SubscriptionSpan, plan_segments, with_usage

D = Decimal
OCT = (date(2026, 10, 1), date(2026, 11, 1))
NOV = (date(2026, 11, 1), date(2026, 12, 1))


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


STARTER = Plan.model_validate({
    "slug": "starter", "name": "Starter", "currency": "USD", "flat_fee": "31.00",
    "charges": [
        {"meter_slug": "api", "model": "unit", "unit_price": "0.002", "included_usage": "1000"},
        {"meter_slug": "storage", "model": "package", "package_size": 100, "package_price": "5", "minimum": "20"},
    ],
})
PRO = Plan.model_validate({
    "slug": "pro", "name": "Pro", "currency": "USD", "flat_fee": "62.00",
    "charges": [
        {"meter_slug": "api", "model": "graduated", "tiers": [
            {"up_to": "10000", "unit_price": "0.001"},
            {"up_to": None, "unit_price": "0.0005", "flat_fee": "2.00"},
        ]},
        {"meter_slug": "storage", "model": "volume", "tiers": [
            {"up_to": "500", "unit_price": "0.10"},
            {"up_to": None, "unit_price": "0.05"},
        ]},
    ],
})


def invoice(slug: str, spans: list[SubscriptionSpan], hours, period=OCT):
    segments = plan_segments(spans, *period)
    if not segments:
        return None
    return compose_segmented_invoice(tenant_slug=slug, tenant_id=f"id-{slug}",
                                     segments=with_usage(segments, hours), period_start=period[0],
                                     period_end=period[1])


def summary(draft):
    return [(line.kind, line.meter_slug, line.amount_minor) for line in draft.lines]


def test_alpha_starter_whole_month():
    # flat fee                                   31.00
    # api, unit: 5000 - 1000 included = 4000 x 0.002 = 8.00
    # storage, package: 150 -> 2 packages x 5 = 10.00; minimum 20.00 -> top-up 10.00
    # total 31.00 + 8.00 + 10.00 + 10.00 = 59.00
    draft = invoice("alpha", [SubscriptionSpan(STARTER, at(1, month=9))],
                    [("api", at(3), D(3000)), ("api", at(31, 23), D(2000)), ("storage", at(5), D(150))])
    assert summary(draft) == [
        ("flat_fee", None, 3100), ("usage", "api", 800), ("usage", "storage", 1000), ("minimum", "storage", 1000)]
    assert draft.total_minor == 5900
    assert draft.plan_slug == "starter"


def test_bravo_plan_change_on_the_11th():
    # Starter Oct 1 00:00 -> Oct 11 00:00 = 10 of 31 days; Pro Oct 11 -> Nov 1 = 21 of 31 days.
    # Starter part:
    #   flat 31.00 x 10/31                               = 10.00
    #   api, unit: included 1000 x 10/31 = 322.58 -> 323 (rounded up, customer's favour)
    #              2000 - 323 = 1677 x 0.002 = 3.354     ->  3.35
    #   storage, package: 50 -> 1 package x 5           =  5.00
    #            minimum 20 x 10/31 = 6.4516 -> 6.45     -> top-up 1.45
    # Pro part (usage from Oct 11 on, rated under Pro):
    #   flat 62.00 x 21/31                               = 42.00
    #   api, graduated 12000: 10000 x 0.001              = 10.00
    #                          2000 x 0.0005 + 2.00 fee  =  3.00
    #   storage, volume: 600 -> tier 2 for all, 600 x 0.05 = 30.00
    # total 10.00 + 3.35 + 5.00 + 1.45 + 42.00 + 10.00 + 3.00 + 30.00 = 104.80
    spans = [SubscriptionSpan(STARTER, at(20, month=9), at(11)), SubscriptionSpan(PRO, at(11))]
    hours = [("api", at(2), D(1500)), ("api", at(10, 23), D(500)), ("storage", at(4), D(50)),
             ("api", at(11, 0), D(12000)), ("storage", at(20), D(600))]
    draft = invoice("bravo", spans, hours)
    assert summary(draft) == [
        ("flat_fee", None, 1000), ("usage", "api", 335), ("usage", "storage", 500), ("minimum", "storage", 145),
        ("flat_fee", None, 4200), ("usage", "api", 1000), ("usage", "api", 300), ("usage", "storage", 3000),
    ]
    assert draft.total_minor == 10480
    assert draft.plan_slug == "pro"
    assert draft.lines[1].quantity == D(1677)
    assert "10 of 31 days" in draft.lines[0].description
    assert "[Pro, 2026-10-11 00:00 to 2026-11-01 00:00 UTC]" in draft.lines[5].description


def test_charlie_cancelled_at_once_mid_month():
    # Pro until Oct 16 12:00 = 15.5 of 31 days: flat 62.00 x 15.5/31 = 31.00
    # api, graduated: 100 x 0.001 = 0.10 (the 50 calls after the cancellation are not billed)
    # storage, volume: no usage = 0.00
    # total 31.10; no November invoice
    spans = [SubscriptionSpan(PRO, at(1, month=8), at(16, 12))]
    hours = [("api", at(16, 11), D(100)), ("api", at(16, 12), D(50))]
    draft = invoice("charlie", spans, hours)
    assert summary(draft) == [("flat_fee", None, 3100), ("usage", "api", 10), ("usage", "storage", 0)]
    assert draft.total_minor == 3110
    assert "15.5 of 31 days" in draft.lines[0].description
    assert invoice("charlie", spans, [], period=NOV) is None


def test_delta_cancelled_at_period_end():
    # Starter ends Nov 1 00:00: October is billed whole.
    # flat 31.00; api 1000 all included = 0.00; storage 0 packages = 0.00, minimum -> top-up 20.00
    # total 51.00; nothing in November
    spans = [SubscriptionSpan(STARTER, at(1, month=7), at(1, month=11))]
    draft = invoice("delta", spans, [("api", at(9), D(1000))])
    assert summary(draft) == [
        ("flat_fee", None, 3100), ("usage", "api", 0), ("usage", "storage", 0), ("minimum", "storage", 2000)]
    assert draft.total_minor == 5100
    assert invoice("delta", spans, [("api", at(2, month=11), D(5))], period=NOV) is None


def test_echo_subscribed_mid_month_jpy():
    # JPY has no minor unit. Started Oct 22 00:00 = 10 of 31 days.
    # flat 3100 x 10/31 = 1000 yen; api unit 7 x 0.5 = 3.5 -> 4 yen (half up); total 1004 yen
    plan = Plan.model_validate({"slug": "jp", "name": "JP", "currency": "JPY", "flat_fee": "3100",
                                "charges": [{"meter_slug": "api", "model": "unit", "unit_price": "0.5"}]})
    draft = invoice("echo", [SubscriptionSpan(plan, at(22))], [("api", at(21), D(99)), ("api", at(23), D(7))])
    assert summary(draft) == [("flat_fee", None, 1000), ("usage", "api", 4)]
    assert draft.currency == "JPY" and draft.total_minor == 1004


def test_one_whole_segment_is_exactly_compose_invoice():
    usage = {"api": D(5000), "storage": D(150)}
    whole = compose_invoice(tenant_slug="alpha", tenant_id="id-alpha", plan=STARTER, usage=usage,
                            period_start=OCT[0], period_end=OCT[1])
    segmented = compose_segmented_invoice(
        tenant_slug="alpha", tenant_id="id-alpha", period_start=OCT[0], period_end=OCT[1],
        segments=[SubscriptionSegment(STARTER, at(1), at(1, month=11), usage)])
    assert segmented == whole


@pytest.mark.parametrize("segments, message", [
    ([], "no subscription"),
    ([SubscriptionSegment(STARTER, at(1), at(20)), SubscriptionSegment(PRO, at(19), at(25))], "overlap"),
    ([SubscriptionSegment(STARTER, at(1, month=9), at(20))], "within the period"),
    ([SubscriptionSegment(STARTER, at(1), at(10)),
      SubscriptionSegment(STARTER.model_copy(update={"currency": "EUR"}), at(10), at(20))], "one currency"),
], ids=["none", "overlap", "outside", "two-currencies"])
def test_invalid_segments_are_refused(segments, message):
    with pytest.raises(ValueError, match=message):
        compose_segmented_invoice(tenant_slug="x", tenant_id="x", segments=segments,
                                  period_start=OCT[0], period_end=OCT[1])


def test_overlapping_subscriptions_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        plan_segments([SubscriptionSpan(STARTER, at(1), at(20)), SubscriptionSpan(PRO, at(10))], *OCT)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

UNIT_ONLY = Plan.model_validate({"slug": "u", "name": "U", "currency": "USD", "flat_fee": "99.99",
                                 "charges": [{"meter_slug": "api", "model": "unit", "unit_price": "0.013"}]})


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=31 * 24 - 1), unique=True, max_size=4),
       hours=st.lists(st.tuples(st.integers(min_value=0, max_value=31 * 24 - 1), st.integers(0, 10_000)),
                      max_size=30))
def test_splitting_a_period_keeps_fee_and_usage(cuts, hours):
    # Splitting a month into segments of the same plan bills the same usage and the
    # flat fee to within one cent per extra segment (each prorated line rounds once).
    from datetime import timedelta

    start = at(1)
    bounds = [start] + [start + timedelta(hours=h) for h in sorted(cuts)] + [at(1, month=11)]
    spans = [SubscriptionSpan(UNIT_ONLY, a, b) for a, b in zip(bounds, bounds[1:])]
    rows = [("api", start + timedelta(hours=h), D(q)) for h, q in hours]
    draft = invoice("prop", spans, rows)
    fees = sum(line.amount_minor for line in draft.lines if line.kind == "flat_fee")
    assert abs(fees - 9999) <= len(cuts)
    billed = sum((line.quantity for line in draft.lines if line.kind == "usage"), D(0))
    assert billed == sum((D(q) for _, q in hours), D(0))
    assert draft.total_minor == sum(line.amount_minor for line in draft.lines)
    assert all(line.amount_minor >= 0 for line in draft.lines)
