"""Invoice composition: numbering, periods, line order, rounding once per line."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from billing_jobs.invoicing import InvoiceDraft, billing_period, compose_invoice
from billing_jobs.plans import GraduatedCharge, PackageCharge, Plan, Tier, UnitCharge, VolumeCharge

D = Decimal
NOV = (date(2026, 11, 1), date(2026, 12, 1))

PRO = Plan.model_validate(
    {
        "slug": "pro",
        "name": "Pro",
        "currency": "USD",
        "flat_fee": "49.00",
        "charges": [
            {"meter_slug": "api-calls", "model": "graduated", "included_usage": "1000", "tiers": [
                {"up_to": "1000", "unit_price": "0.01"},
                {"up_to": "10000", "unit_price": "0.008"},
                {"up_to": None, "unit_price": "0.005"},
            ]},
            {"meter_slug": "storage", "model": "package", "package_size": 100, "package_price": "5", "minimum": "20"},
        ],
    }
)


def compose(plan=PRO, usage=None, period=NOV, slug="acme"):
    return compose_invoice(
        tenant_slug=slug, tenant_id="t-1", plan=plan, usage=usage or {}, period_start=period[0], period_end=period[1]
    )


def test_hand_calculated_pro_invoice():
    # api-calls: 15000 used - 1000 included = 14000 billable, graduated:
    #   tier 1:  1000 x 0.010 = 10.00
    #   tier 2:  9000 x 0.008 = 72.00
    #   tier 3:  4000 x 0.005 = 20.00
    # storage: 250 units -> 3 packages of 100 x 5.00 = 15.00, minimum 20.00 -> top-up 5.00
    # total: 49.00 + 10.00 + 72.00 + 20.00 + 15.00 + 5.00 = 171.00 USD = 17100 cents
    draft = compose(usage={"api-calls": D(15000), "storage": D(250), "not-in-plan": D(999)})
    assert draft.number == "ML-ACME-202611"
    assert [(line.position, line.kind, line.meter_slug, line.amount_minor) for line in draft.lines] == [
        (1, "flat_fee", None, 4900),
        (2, "usage", "api-calls", 1000),
        (3, "usage", "api-calls", 7200),
        (4, "usage", "api-calls", 2000),
        (5, "usage", "storage", 1500),
        (6, "minimum", "storage", 500),
    ]
    assert draft.subtotal_minor == draft.total_minor == 17100
    assert draft.currency == "USD"
    assert draft.lines[0].description == "Pro (monthly fee, 2026-11-01 to 2026-11-30)"
    assert draft.lines[2].description == "api-calls: 9000 units, tier 2 (1001-10000), at 0.008 USD per unit"
    assert draft.lines[2].tier == "tier 2 (1001-10000)"
    assert draft.lines[4].description == "storage: 250 units, 3 package(s) of 100 at 5 per package"
    assert "minimum charge of 20 USD" in draft.lines[5].description


def test_rounding_is_once_per_line_half_up():
    # 3 x 0.0125 = 0.0375 -> 0.04 (one line, rounded once: 4 cents, not 3 x 0.01)
    # 1 x 0.005 = 0.005 -> 0.01 (half-up; banker's rounding would bill 0.00)
    plan = Plan(slug="p", name="P", currency="USD", charges=[
        UnitCharge(meter_slug="a", unit_price=D("0.0125")),
        UnitCharge(meter_slug="b", unit_price=D("0.005")),
    ])
    draft = compose(plan, {"a": D(3), "b": D(1)})
    assert [line.amount_minor for line in draft.lines] == [0, 4, 1]
    assert draft.total_minor == 5


def test_jpy_invoice_is_in_whole_yen():
    # 3 x 0.5 JPY = 1.5 -> 2 yen; flat 980 yen; total 982 minor units = 982 yen
    plan = Plan(slug="jp", name="JP", currency="JPY", flat_fee=D(980), charges=[
        UnitCharge(meter_slug="a", unit_price=D("0.5"))])
    draft = compose(plan, {"a": D(3)})
    assert [line.amount_minor for line in draft.lines] == [980, 2]
    assert draft.currency == "JPY" and draft.total_minor == 982


@pytest.mark.parametrize(
    ("usage", "minimum", "lines"),
    [
        ({"s": D(0)}, D(20), [("usage", 0), ("minimum", 2000)]),
        ({}, D(20), [("usage", 0), ("minimum", 2000)]),
        ({"s": D(400)}, D(20), [("usage", 2000)]),
        ({"s": D(500)}, D(20), [("usage", 2500)]),
        ({"s": D(1)}, None, [("usage", 500)]),
    ],
    ids=["zero-usage", "absent-meter", "exactly-minimum", "above-minimum", "no-minimum"],
)
def test_minimum_top_up(usage, minimum, lines):
    plan = Plan(slug="p", name="P", currency="USD", charges=[
        PackageCharge(meter_slug="s", package_size=100, package_price=D(5), minimum=minimum)])
    draft = compose(plan, usage)
    assert [(line.kind, line.amount_minor) for line in draft.lines[1:]] == lines


def test_minimum_top_up_is_exact_after_rounding():
    # rated 0.005 rounds to 1 cent; the top-up is 100 - 1 = 99 cents, so the
    # meter costs exactly the 1.00 minimum (topping up 0.995 would round to 1.00).
    plan = Plan(slug="p", name="P", currency="USD", charges=[
        UnitCharge(meter_slug="a", unit_price=D("0.005"), minimum=D(1))])
    draft = compose(plan, {"a": D(1)})
    assert [line.amount_minor for line in draft.lines[1:]] == [1, 99]


@pytest.mark.parametrize(
    ("usage", "error"),
    [({"api-calls": 1.5}, TypeError), ({"not-in-plan": 2.0}, TypeError), ({"api-calls": D(-1)}, ValueError)],
    ids=["float", "float-unbilled-meter", "negative"],
)
def test_bad_usage_raises(usage, error):
    with pytest.raises(error):
        compose(usage=usage)


@pytest.mark.parametrize(
    ("for_date", "period"),
    [
        (date(2026, 11, 15), (date(2026, 11, 1), date(2026, 12, 1))),
        (date(2026, 12, 31), (date(2026, 12, 1), date(2027, 1, 1))),
        (date(2028, 2, 29), (date(2028, 2, 1), date(2028, 3, 1))),
        (date(2026, 1, 1), (date(2026, 1, 1), date(2026, 2, 1))),
        # 20:00 in New York on Nov 30 is already Dec 1 in UTC
        (datetime(2026, 11, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5))), (date(2026, 12, 1), date(2027, 1, 1))),
    ],
    ids=["mid-month", "december", "leap-february", "first-day", "aware-datetime-utc"],
)
def test_billing_period(for_date, period):
    assert billing_period(for_date) == period


def test_billing_period_refuses_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        billing_period(datetime(2026, 11, 30, 20, 0))


def test_draft_round_trips_and_is_self_checking():
    draft = compose(usage={"api-calls": D(15000), "storage": D(250)})
    data = draft.model_dump(mode="json")
    assert data["lines"][2]["unit_price"] == "0.008"
    assert InvoiceDraft.model_validate(data) == draft
    data["total_minor"] += 1
    data["subtotal_minor"] += 1
    with pytest.raises(ValidationError, match="sum of the lines"):
        InvoiceDraft.model_validate(data)


def test_period_must_be_ordered():
    with pytest.raises(ValidationError, match="period_end"):
        compose(period=(date(2026, 12, 1), date(2026, 11, 1)))


def test_composition_is_deterministic():
    usage = {"storage": D(250), "api-calls": D(15000)}
    assert compose(usage=usage) == compose(usage=dict(reversed(list(usage.items()))))


# -- properties -----------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=50, places=4, allow_nan=False, allow_infinity=False)
usage_values = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def plans(draw, with_volume=True):
    tier_list = [Tier(up_to=D(100), unit_price=draw(amounts), flat_fee=draw(amounts)),
                 Tier(up_to=None, unit_price=draw(amounts))]
    pool = [
        UnitCharge(meter_slug="u", unit_price=draw(amounts), minimum=draw(st.none() | amounts)),
        PackageCharge(meter_slug="p", package_size=draw(st.integers(1, 50)), package_price=draw(amounts),
                      included_usage=draw(amounts)),
        GraduatedCharge(meter_slug="g", tiers=tier_list, minimum=draw(st.none() | amounts)),
    ]
    if with_volume:
        pool.append(VolumeCharge(meter_slug="v", tiers=tier_list))
    chosen = draw(st.lists(st.sampled_from(pool), unique_by=lambda c: c.meter_slug))
    return Plan(slug="prop", name="Prop", currency=draw(st.sampled_from(["USD", "JPY", "EUR"])),
                flat_fee=draw(amounts), charges=chosen)


usages = st.dictionaries(st.sampled_from(["u", "p", "g", "v", "x"]), usage_values)


@given(plans(), usages)
def test_total_is_the_sum_of_nonnegative_lines(plan, usage):
    draft = compose(plan, usage)
    assert all(line.amount_minor >= 0 for line in draft.lines)
    assert draft.total_minor == draft.subtotal_minor == sum(line.amount_minor for line in draft.lines)
    assert [line.position for line in draft.lines] == list(range(1, len(draft.lines) + 1))


@given(plans(with_volume=False), usages, usages)
def test_invoice_total_is_monotone_in_usage(plan, a, b):
    # Per-meter maximum of two usages is >= each; without volume charges the
    # invoice can only grow.
    more = {meter: max(a.get(meter, D(0)), b.get(meter, D(0))) for meter in {*a, *b}}
    assert compose(plan, a).total_minor <= compose(plan, more).total_minor
